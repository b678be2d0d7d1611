package sqlitestore

import (
	"fmt"
	"testing"

	"github.com/backpackhq/backpack/internal/testenv"
	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/docstore/docstoretest"
	"github.com/backpackhq/backpack/tools/docstore/mongostore"
)

// TestDifferential runs generated data and queries on this engine and on the mongo engine
// over FerretDB, the stand-in for mongo:7, keeping to what FerretDB answers as MongoDB does.
func TestDifferential(t *testing.T) {
	client := testenv.MongoDatabase(t, testenv.FerretDB(t), "unused").Client()
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			ref := mongostore.New(client.Database(fmt.Sprint("differential", seed)), docstore.Limits{})
			docstoretest.Differential(t, openTest(t, Options{}), ref, docstoretest.DifferentialOptions{Seed: seed, FerretDB: true})
		})
	}
}
