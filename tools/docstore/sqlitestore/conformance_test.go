package sqlitestore

import (
	"testing"

	"github.com/backpackhq/backpack/tools/docstore/docstoretest"
)

// TestConformance runs the shared suite: the sqlite engine must behave as MongoDB does.
func TestConformance(t *testing.T) {
	docstoretest.Run(t, openStore)
}
