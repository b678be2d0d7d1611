package docstoretest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/backpackhq/backpack/internal/testenv"
	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/docstore/mongostore"
	"github.com/backpackhq/backpack/tools/docstore/sqlitestore"
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

// TestDifferentialSQLiteMongo holds the sqlite engine to the mongo engine on FerretDB, the
// stand-in for mongo:7, over the query shapes FerretDB answers as MongoDB does.
func TestDifferentialSQLiteMongo(t *testing.T) {
	client := testenv.MongoDatabase(t, testenv.FerretDB(t), "unused").Client()
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			lite, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "data.db"), sqlitestore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = lite.Close(context.Background()) })
			mongo := mongostore.New(client.Database(fmt.Sprint("seed", seed)), docstore.Limits{})
			Differential(t, lite, mongo, DifferentialOptions{Seed: seed, FerretDB: true})
		})
	}
}
