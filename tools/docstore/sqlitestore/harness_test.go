package sqlitestore

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/backpackhq/backpack/tools/docstore"
)

// openTest opens a fresh store in a temporary directory, closed when the test ends.
func openTest(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "db", "data.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return s
}

// openStore is openTest as the conformance suite wants it.
func openStore(t *testing.T) docstore.Store {
	return openTest(t, Options{})
}
