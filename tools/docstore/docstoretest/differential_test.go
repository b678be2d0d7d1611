package docstoretest

import (
	"testing"

	"github.com/backpackhq/backpack/internal/testenv"
	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/docstore/mongostore"
)

// TestDifferentialSameEngine runs Differential with the mongo engine on both sides: every
// generated filter must parse, and one engine must agree with itself, or a difference found
// between two engines would say nothing.
func TestDifferentialSameEngine(t *testing.T) {
	client := testenv.MongoDatabase(t, testenv.FerretDB(t), "unused").Client()
	a := mongostore.New(client.Database("a"), docstore.Limits{})
	b := mongostore.New(client.Database("b"), docstore.Limits{})
	Differential(t, a, b, DifferentialOptions{Seed: 1, Queries: 150, FerretDB: true})
}
