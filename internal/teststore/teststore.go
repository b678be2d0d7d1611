// Package teststore gives tests the document store their servers run on, so the engine every
// API-level test uses is chosen in one place: BACKPACK_TEST_ENGINE=sqlite (the default, what
// the embedded default and the local runtime run) or mongo (the mongo engine on an in-process
// FerretDB, the stand-in for a stack's mongo:7). make test runs the API's suites on both.
package teststore

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/backpackhq/backpack/internal/testenv"
	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/docstore/mongostore"
	"github.com/backpackhq/backpack/tools/docstore/sqlitestore"
)

// EngineEnv names the environment variable that picks the engine.
const EngineEnv = "BACKPACK_TEST_ENGINE"

// Engine is the engine New opens: docstore.EngineSQLite unless EngineEnv says mongo.
func Engine() string {
	if os.Getenv(EngineEnv) == docstore.EngineMongo {
		return docstore.EngineMongo
	}
	return docstore.EngineSQLite
}

// New returns an empty store of its own for one test, released when the test ends.
func New(t testing.TB) docstore.Store {
	t.Helper()
	if Engine() == docstore.EngineMongo {
		return mongostore.New(testenv.MongoDatabase(t, testenv.FerretDB(t), "backend"), docstore.Limits{})
	}
	s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "data.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatalf("open sqlite store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}
