package docstoretest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/backpackhq/backpack/tools/docstore"
)

// collections checks the Store's collection management and every operation on a collection
// that does not exist yet.
func (s *suite) collections(t *testing.T) {
	s.run(t, "Store", func(t *testing.T) {
		st := s.open(t)
		if err := st.Ping(ctx(t)); err != nil {
			t.Errorf("ping: %v", err)
		}
		if e := st.Engine(); e != docstore.EngineMongo && e != docstore.EngineSQLite {
			t.Errorf("engine %q, want %q or %q", e, docstore.EngineMongo, docstore.EngineSQLite)
		}
		listed(t, st, "a fresh store")
	})

	s.run(t, "Collections", func(t *testing.T) {
		st := s.open(t)
		s.run(t, "create_and_list_sorted", func(t *testing.T) {
			for _, name := range []string{"b", "a", "_users", "Z"} {
				if err := st.CreateCollection(ctx(t), name); err != nil {
					t.Fatalf("create %s: %v", name, err)
				}
			}
			listed(t, st, "after creating four", "Z", "_users", "a", "b")
		})
		s.run(t, "create_existing_keeps_it", func(t *testing.T) {
			insertAll(t, st.Collection("a"), docs(t, `{"_id": "kept"}`))
			if err := st.CreateCollection(ctx(t), "a"); err != nil {
				t.Fatalf("create an existing collection: %v", err)
			}
			findOne(t, st.Collection("a"), byID("kept"))
		})
		s.run(t, "insert_creates", func(t *testing.T) {
			insertAll(t, st.Collection("c"), docs(t, `{"_id": 1}`))
			listed(t, st, "after inserting into c", "Z", "_users", "a", "b", "c")
		})
		s.run(t, "upsert_creates", func(t *testing.T) {
			if _, err := st.Collection("d").Update(ctx(t), byID("x"), docstore.Change{Set: doc(t, `{"n": 1}`), Upsert: true}); err != nil {
				t.Fatalf("upsert: %v", err)
			}
			listed(t, st, "after upserting into d", "Z", "_users", "a", "b", "c", "d")
		})
		s.run(t, "create_index_creates", func(t *testing.T) {
			if err := st.Collection("e").CreateIndex(ctx(t), docstore.Index{Fields: []string{"n"}}); err != nil {
				t.Fatalf("create index: %v", err)
			}
			listed(t, st, "after indexing e", "Z", "_users", "a", "b", "c", "d", "e")
		})
		s.run(t, "drop", func(t *testing.T) {
			if err := st.DropCollection(ctx(t), "a"); err != nil {
				t.Fatalf("drop a: %v", err)
			}
			if err := st.DropCollection(ctx(t), "e"); err != nil {
				t.Fatalf("drop e: %v", err)
			}
			listed(t, st, "after dropping a and e", "Z", "_users", "b", "c", "d")
			if got := find(t, st.Collection("a"), bson.D{}, docstore.FindOptions{}); len(got) != 0 {
				t.Errorf("a dropped collection still holds %q", ids(got))
			}
			// Its indexes went with it.
			insertAll(t, st.Collection("e"), docs(t, `{"_id": 1}`))
			if got, err := st.Collection("e").ListIndexes(ctx(t)); err != nil || len(got) != 0 {
				t.Errorf("indexes of a recreated collection = %v, %v; want none", got, err)
			}
		})
		s.run(t, "drop_missing", func(t *testing.T) {
			if err := st.DropCollection(ctx(t), "never"); err != nil {
				t.Errorf("drop a missing collection: %v", err)
			}
			if err := st.DropCollection(ctx(t), "a"); err != nil {
				t.Errorf("drop a dropped collection: %v", err)
			}
		})
	})

	s.run(t, "MissingCollection", func(t *testing.T) {
		st := s.open(t)
		c := st.Collection("ghost")
		everything := bson.D{}
		one := byID("x")
		checks := []struct {
			name string
			fn   func(t *testing.T) error
		}{
			{"find", func(t *testing.T) error {
				got, err := c.Find(ctx(t), everything, docstore.FindOptions{Sort: sortSpec(t, "n")})
				if err == nil && len(got) != 0 {
					t.Errorf("found %q", ids(got))
				}
				return err
			}},
			{"find_one", func(t *testing.T) error {
				_, err := c.FindOne(ctx(t), everything, docstore.FindOptions{})
				isNotFound(t, "find one", err)
				return nil
			}},
			{"count", func(t *testing.T) error {
				n, err := c.Count(ctx(t), everything)
				if err == nil && n != 0 {
					t.Errorf("count %d", n)
				}
				return err
			}},
			{"sum", func(t *testing.T) error {
				n, err := c.Sum(ctx(t), everything, "n")
				if err == nil && n != 0 {
					t.Errorf("sum %d", n)
				}
				return err
			}},
			{"list_indexes", func(t *testing.T) error {
				got, err := c.ListIndexes(ctx(t))
				if err == nil && len(got) != 0 {
					t.Errorf("indexes %v", got)
				}
				return err
			}},
			{"drop_index", func(t *testing.T) error {
				if err := c.DropIndex(ctx(t), "n_1"); !errors.Is(err, docstore.ErrIndexNotFound) {
					t.Errorf("got %v, want docstore.ErrIndexNotFound", err)
				}
				return nil
			}},
			{"replace", func(t *testing.T) error {
				_, err := c.Replace(ctx(t), one, doc(t, `{"_id": "x"}`))
				isNotFound(t, "replace", err)
				return nil
			}},
			{"update", func(t *testing.T) error {
				_, err := c.Update(ctx(t), one, docstore.Change{Set: doc(t, `{"n": 1}`)})
				isNotFound(t, "update", err)
				return nil
			}},
			{"delete", func(t *testing.T) error {
				_, err := c.Delete(ctx(t), one)
				isNotFound(t, "delete", err)
				return nil
			}},
			{"delete_many", func(t *testing.T) error {
				n, err := c.DeleteMany(ctx(t), everything)
				if err == nil && n != 0 {
					t.Errorf("deleted %d", n)
				}
				return err
			}},
		}
		for _, check := range checks {
			s.run(t, check.name, func(t *testing.T) {
				if err := check.fn(t); err != nil {
					t.Errorf("%s on a missing collection: %v", check.name, err)
				}
			})
		}
		s.run(t, "still_missing", func(t *testing.T) {
			// Reading, and writes that write nothing, do not create the collection.
			listed(t, st, "after reading a missing collection")
		})
	})
}

// deadlines checks that a call whose context has run out fails with the context's error, which
// the API answers as a timeout rather than a server fault.
func (s *suite) deadlines(t *testing.T) {
	s.run(t, "Deadline", func(t *testing.T) {
		c := s.open(t).Collection("things")
		insertAll(t, c, docs(t, `{"_id": 1, "n": 1}`))
		expired, cancel := context.WithDeadline(ctx(t), time.Now().Add(-time.Second))
		defer cancel()
		calls := []struct {
			name string
			fn   func() error
		}{
			{"find", func() error { _, err := c.Find(expired, bson.D{}, docstore.FindOptions{}); return err }},
			{"count", func() error { _, err := c.Count(expired, bson.D{}); return err }},
			{"insert", func() error { return c.Insert(expired, doc(t, `{"_id": 2}`)) }},
			{"update", func() error {
				_, err := c.Update(expired, byID(1), docstore.Change{Set: doc(t, `{"n": 2}`)})
				return err
			}},
		}
		for _, call := range calls {
			if err := call.fn(); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s past its deadline: got %v, want an error wrapping context.DeadlineExceeded", call.name, err)
			}
		}
		sameDoc(t, "document after the expired calls", findOne(t, c, byID(1)), doc(t, `{"_id": 1, "n": 1}`))
	})
}

// listed fails the test unless ListCollections names exactly want.
func listed(t *testing.T, st docstore.Store, when string, want ...string) {
	t.Helper()
	got, err := st.ListCollections(ctx(t))
	if err != nil {
		t.Fatalf("list collections %s: %v", when, err)
	}
	if len(got) != 0 || len(want) != 0 {
		if !slices.Equal(got, want) {
			t.Errorf("collections %s: %q, want %q", when, got, want)
		}
	}
}
