package docstoretest

import (
	"errors"
	"reflect"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/backpackhq/backpack/tools/docstore"
)

// indexes checks index management and unique indexes. That indexes change no result is checked
// by FilterIndexed and SortIndexed.
func (s *suite) indexes(t *testing.T) {
	s.run(t, "Indexes", func(t *testing.T) {
		c := s.open(t).Collection("things")
		insertAll(t, c, docs(t, `{"_id": 1, "n": 1, "title": "a", "email": "x@example.com", "a": {"b": 1}}`))
		made := []docstore.Index{
			{Fields: []string{"n"}},
			{Fields: []string{"-n", "title"}},
			{Name: "by_email", Fields: []string{"email"}, Unique: true},
			{Fields: []string{"a.b"}},
		}
		s.run(t, "create_and_list", func(t *testing.T) {
			for _, idx := range made {
				if err := c.CreateIndex(ctx(t), idx); err != nil {
					t.Fatalf("create index %+v: %v", idx, err)
				}
			}
			listedIndexes(t, c, []docstore.Index{
				{Name: "a.b_1", Fields: []string{"a.b"}},
				{Name: "by_email", Fields: []string{"email"}, Unique: true},
				{Name: "n_-1_title_1", Fields: []string{"-n", "title"}},
				{Name: "n_1", Fields: []string{"n"}},
			})
		})
		s.run(t, "exists", func(t *testing.T) {
			for _, idx := range []docstore.Index{
				{Fields: []string{"n"}},
				{Name: "by_email", Fields: []string{"email"}, Unique: true},
				{Name: "by_email", Fields: []string{"title"}},
				{Name: "n_1", Fields: []string{"title"}},
			} {
				if err := c.CreateIndex(ctx(t), idx); !errors.Is(err, docstore.ErrIndexExists) {
					t.Errorf("create %+v again: got %v, want docstore.ErrIndexExists", idx, err)
				}
			}
		})
		s.run(t, "drop", func(t *testing.T) {
			if err := c.DropIndex(ctx(t), "n_-1_title_1"); err != nil {
				t.Fatalf("drop: %v", err)
			}
			if err := c.DropIndex(ctx(t), "n_-1_title_1"); !errors.Is(err, docstore.ErrIndexNotFound) {
				t.Errorf("drop again: got %v, want docstore.ErrIndexNotFound", err)
			}
			if err := c.DropIndex(ctx(t), "nothing"); !errors.Is(err, docstore.ErrIndexNotFound) {
				t.Errorf("drop a missing index: got %v, want docstore.ErrIndexNotFound", err)
			}
			listedIndexes(t, c, []docstore.Index{
				{Name: "a.b_1", Fields: []string{"a.b"}},
				{Name: "by_email", Fields: []string{"email"}, Unique: true},
				{Name: "n_1", Fields: []string{"n"}},
			})
		})
	})

	s.run(t, "Unique", func(t *testing.T) {
		cases := []struct {
			name   string
			index  docstore.Index
			ok     []string // inserted in order, each accepted
			refuse []string // each refused, naming the index's fields
		}{
			{
				name:   "single_field",
				index:  docstore.Index{Fields: []string{"email"}, Unique: true},
				ok:     []string{`{"_id": 1, "email": "a@x"}`, `{"_id": 2, "email": "A@x"}`},
				refuse: []string{`{"_id": 3, "email": "a@x"}`},
			},
			{
				name:   "compound_descending",
				index:  docstore.Index{Fields: []string{"owner", "-name"}, Unique: true},
				ok:     []string{`{"_id": 1, "owner": "o1", "name": "n1"}`, `{"_id": 2, "owner": "o1", "name": "n2"}`, `{"_id": 3, "owner": "o2", "name": "n1"}`},
				refuse: []string{`{"_id": 4, "name": "n2", "owner": "o1"}`},
			},
			{
				name:   "dotted",
				index:  docstore.Index{Fields: []string{"profile.email"}, Unique: true},
				ok:     []string{`{"_id": 1, "profile": {"email": "a"}}`, `{"_id": 2, "profile": {"email": "b"}}`},
				refuse: []string{`{"_id": 3, "profile": {"email": "a", "x": 1}}`},
			},
			{
				// MongoDB indexes a missing field as null: one document may lack it.
				name:   "missing_is_null",
				index:  docstore.Index{Fields: []string{"email"}, Unique: true},
				ok:     []string{`{"_id": 1}`, `{"_id": 2, "email": "a"}`},
				refuse: []string{`{"_id": 3}`, `{"_id": 4, "email": null}`},
			},
			{
				name:   "compound_missing_is_null",
				index:  docstore.Index{Fields: []string{"a", "b"}, Unique: true},
				ok:     []string{`{"_id": 1, "a": 1}`, `{"_id": 2, "a": 2}`, `{"_id": 3}`},
				refuse: []string{`{"_id": 4, "a": 1, "b": null}`, `{"_id": 5, "b": null}`},
			},
			{
				name:   "numbers_by_value",
				index:  docstore.Index{Fields: []string{"n"}, Unique: true},
				ok:     []string{`{"_id": 1, "n": 1}`, `{"_id": 2, "n": "1"}`, `{"_id": 3, "n": true}`},
				refuse: []string{`{"_id": 4, "n": 1.0}`, `{"_id": 5, "n": {"$numberLong": "1"}}`},
			},
			{
				// An array is indexed by each of its elements.
				name:   "arrays_by_element",
				index:  docstore.Index{Fields: []string{"tags"}, Unique: true},
				ok:     []string{`{"_id": 1, "tags": ["a", "b"]}`, `{"_id": 2, "tags": ["x", "x"]}`},
				refuse: []string{`{"_id": 3, "tags": ["b", "c"]}`, `{"_id": 4, "tags": "a"}`},
			},
		}
		for _, tc := range cases {
			s.run(t, tc.name, func(t *testing.T) {
				c := s.open(t).Collection("things")
				if err := c.CreateIndex(ctx(t), tc.index); err != nil {
					t.Fatalf("create index: %v", err)
				}
				name := docstore.IndexName(tc.index.Fields)
				var fields []string
				for _, f := range tc.index.Fields {
					path, _ := docstore.IndexField(f)
					fields = append(fields, path)
				}
				insertAll(t, c, docs(t, tc.ok...))
				for _, d := range docs(t, tc.refuse...) {
					isDuplicate(t, "insert "+extJSON(d), c.Insert(ctx(t), d), name, fields...)
				}
				if n, err := c.Count(ctx(t), bson.D{}); err != nil || n != int64(len(tc.ok)) {
					t.Errorf("documents = %d, %v; want %d", n, err, len(tc.ok))
				}
			})
		}
	})

	s.run(t, "UniqueWrites", func(t *testing.T) {
		c := s.open(t).Collection("users")
		if err := c.CreateIndex(ctx(t), docstore.Index{Fields: []string{"email"}, Unique: true}); err != nil {
			t.Fatalf("create index: %v", err)
		}
		insertAll(t, c, docs(t, `{"_id": "u1", "email": "a@x", "n": 1}`, `{"_id": "u2", "email": "b@x"}`))
		s.run(t, "replace", func(t *testing.T) {
			_, err := c.Replace(ctx(t), byID("u2"), doc(t, `{"_id": "u2", "email": "a@x"}`))
			isDuplicate(t, "replace onto a taken email", err, "email_1", "email")
			sameDoc(t, "kept", findOne(t, c, byID("u2")), doc(t, `{"_id": "u2", "email": "b@x"}`))
		})
		s.run(t, "update", func(t *testing.T) {
			_, err := c.Update(ctx(t), byID("u2"), docstore.Change{Set: doc(t, `{"email": "a@x"}`)})
			isDuplicate(t, "set a taken email", err, "email_1", "email")
		})
		s.run(t, "upsert", func(t *testing.T) {
			_, err := c.Update(ctx(t), byID("u3"), docstore.Change{Set: doc(t, `{"email": "a@x"}`), Upsert: true})
			isDuplicate(t, "upsert a taken email", err, "email_1", "email")
			if n, err := c.Count(ctx(t), byID("u3")); err != nil || n != 0 {
				t.Errorf("documents u3 = %d, %v; want 0", n, err)
			}
		})
		s.run(t, "own_value", func(t *testing.T) {
			if _, err := c.Update(ctx(t), byID("u1"), docstore.Change{Set: doc(t, `{"email": "a@x", "n": 2}`)}); err != nil {
				t.Errorf("set a document's own email: %v", err)
			}
			if _, err := c.Replace(ctx(t), byID("u1"), doc(t, `{"_id": "u1", "email": "a@x", "n": 3}`)); err != nil {
				t.Errorf("replace keeping a document's own email: %v", err)
			}
		})
		s.run(t, "freed_value", func(t *testing.T) {
			if _, err := c.Delete(ctx(t), byID("u1")); err != nil {
				t.Fatalf("delete: %v", err)
			}
			if _, err := c.Update(ctx(t), byID("u2"), docstore.Change{Set: doc(t, `{"email": "a@x"}`)}); err != nil {
				t.Errorf("take a freed email: %v", err)
			}
		})
	})

	s.run(t, "UniqueOverDuplicates", func(t *testing.T) {
		cases := []struct {
			name   string
			fields []string
			docs   []string
		}{
			{"same_values", []string{"v"}, []string{`{"_id": 1, "v": "a"}`, `{"_id": 2, "v": "b"}`, `{"_id": 3, "v": "a"}`}},
			{"missing_values", []string{"v"}, []string{`{"_id": 1, "v": "a"}`, `{"_id": 2}`, `{"_id": 3}`}},
			{"int_and_double", []string{"v"}, []string{`{"_id": 1, "v": 2}`, `{"_id": 2, "v": 2.0}`}},
			{"compound", []string{"v", "-w"}, []string{`{"_id": 1, "v": 1, "w": 1}`, `{"_id": 2, "v": 1, "w": 2}`, `{"_id": 3, "v": 1, "w": 1}`}},
		}
		for _, tc := range cases {
			s.run(t, tc.name, func(t *testing.T) {
				c := s.open(t).Collection("things")
				insertAll(t, c, docs(t, tc.docs...))
				index := docstore.Index{Fields: tc.fields, Unique: true}
				var paths []string
				for _, f := range tc.fields {
					path, _ := docstore.IndexField(f)
					paths = append(paths, path)
				}
				isDuplicate(t, "unique index over duplicates", c.CreateIndex(ctx(t), index), "", paths...)
				listedIndexes(t, c, nil)
				// Nothing was created: the values can still repeat.
				again := doc(t, tc.docs[len(tc.docs)-1])
				again[0].Value = "again"
				if err := c.Insert(ctx(t), again); err != nil {
					t.Errorf("insert %s after the index was refused: %v", extJSON(again), err)
				}
			})
		}
	})
}

// listedIndexes fails the test unless ListIndexes gives want.
func listedIndexes(t *testing.T, c docstore.Collection, want []docstore.Index) {
	t.Helper()
	got, err := c.ListIndexes(ctx(t))
	if err != nil {
		t.Fatalf("list indexes: %v", err)
	}
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("indexes:\n got %+v\nwant %+v", got, want)
	}
}
