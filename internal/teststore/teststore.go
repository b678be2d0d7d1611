// Package teststore gives tests the document store their servers run on, so the engine every
// API-level test uses is chosen in one place.
package teststore

import (
	"testing"

	"github.com/backpackhq/backpack/internal/testenv"
	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/docstore/mongostore"
)

// New returns an empty store of its own for one test: a database on an in-process FerretDB,
// through the mongo engine. It is released when the test ends.
func New(t testing.TB) docstore.Store {
	t.Helper()
	return mongostore.New(testenv.MongoDatabase(t, testenv.FerretDB(t), "backend"), docstore.Limits{})
}
