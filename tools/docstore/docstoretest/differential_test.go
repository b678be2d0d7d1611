package docstoretest

import (
	"fmt"
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
	for seed := range uint64(2) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			a := mongostore.New(client.Database(fmt.Sprint("a", seed)), docstore.Limits{})
			b := mongostore.New(client.Database(fmt.Sprint("b", seed)), docstore.Limits{})
			Differential(t, a, b, DifferentialOptions{Seed: seed, Queries: 200, FerretDB: true})
		})
	}
}
