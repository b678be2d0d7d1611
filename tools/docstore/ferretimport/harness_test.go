package ferretimport

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"strings"
	"testing"

	"github.com/backpackhq/backpack/internal/testenv"
	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/docstore/mongostore"
	"github.com/backpackhq/backpack/tools/docstore/sqlitestore"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// errCrash is how failingStore stops an import.
var errCrash = errors.New("simulated crash")

// testEngine is an engine the importer is tested into: open creates the store a path names,
// reopen opens it again later.
type testEngine struct {
	name   string
	open   Opener
	reopen func(t *testing.T, path string) docstore.Store
}

// engines are the real engines the tests import into.
func engines(t *testing.T) []testEngine {
	t.Helper()
	return []testEngine{sqliteEngine(), mongoEngine(t)}
}

// sqliteEngine imports into the sqlite engine, the one the migration serves.
func sqliteEngine() testEngine {
	return testEngine{
		name: docstore.EngineSQLite,
		open: func(ctx context.Context, path string) (docstore.Store, error) {
			return sqlitestore.Open(ctx, path, sqlitestore.Options{})
		},
		reopen: func(t *testing.T, path string) docstore.Store {
			t.Helper()
			st, err := sqlitestore.Open(context.Background(), path, sqlitestore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close(context.Background()) })
			return st
		},
	}
}

// mongoEngine imports into the mongo engine on the FerretDB stand-in, one database per file
// path (an unfinished file and the one it is renamed to sharing it); open starts from an
// empty database and creates an empty file at path, as a file engine would.
func mongoEngine(t *testing.T) testEngine {
	t.Helper()
	uri := testenv.FerretDB(t)
	dbName := func(path string) string {
		h := fnv.New64a()
		_, _ = h.Write([]byte(strings.TrimSuffix(path, partialSuffix)))
		return fmt.Sprintf("t%x", h.Sum64())
	}
	connect := func(ctx context.Context, path string) (docstore.Store, error) {
		return mongostore.Connect(ctx, uri, dbName(path), docstore.Limits{})
	}
	return testEngine{
		name: docstore.EngineMongo,
		open: func(ctx context.Context, path string) (docstore.Store, error) {
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				return nil, err
			}
			st, err := connect(ctx, path)
			if err != nil {
				return nil, err
			}
			if err := st.(*mongostore.Store).Database().Drop(ctx); err != nil {
				return nil, err
			}
			return st, nil
		},
		reopen: func(t *testing.T, path string) docstore.Store {
			t.Helper()
			st, err := connect(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close(context.Background()) })
			return st
		},
	}
}

// failingStore is a real store whose inserts start failing after a number of collections
// were written to, as a crash halfway through an import would stop it.
type failingStore struct {
	docstore.Store
	collections int // collections that may still be written
	seen        map[string]bool
}

func (s *failingStore) Collection(name string) docstore.Collection {
	return &failingCollection{Collection: s.Store.Collection(name), store: s, name: name}
}

type failingCollection struct {
	docstore.Collection
	store *failingStore
	name  string
}

func (c *failingCollection) Insert(ctx context.Context, doc bson.D) error {
	if !c.store.seen[c.name] {
		if c.store.collections == 0 {
			return errCrash
		}
		c.store.collections--
		c.store.seen[c.name] = true
	}
	return c.Collection.Insert(ctx, doc)
}
