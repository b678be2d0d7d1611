package docstoretest

import (
	"slices"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/backpackhq/backpack/tools/docstore"
)

// insertMany checks InsertMany: a batch is stored whole, or, when one of its documents is
// refused, not at all.
func (s *suite) insertMany(t *testing.T) {
	s.run(t, "InsertMany", func(t *testing.T) {
		c := s.open(t).Collection("things")
		if err := c.CreateIndex(ctx(t), docstore.Index{Fields: []string{"email"}, Unique: true}); err != nil {
			t.Fatalf("create index: %v", err)
		}
		insertAll(t, c, docs(t, `{"_id": "stored", "email": "taken@x"}`))
		// refused inserts the batch, which must fail with a *DuplicateError on index and
		// fields, and checks that the collection still holds exactly the documents it held.
		refused := func(t *testing.T, batch []bson.D, index string, fields ...string) {
			t.Helper()
			before := sortedIDs(find(t, c, bson.D{}, docstore.FindOptions{}))
			isDuplicate(t, "insert the batch", c.InsertMany(ctx(t), batch), index, fields...)
			if after := sortedIDs(find(t, c, bson.D{}, docstore.FindOptions{})); !slices.Equal(after, before) {
				t.Errorf("documents after a refused batch %q, want %q", after, before)
			}
		}
		s.run(t, "stored_and_readable", func(t *testing.T) {
			oid := bson.NewObjectID()
			batch := docs(t,
				`{"_id": "b1", "email": "b1@x", "tags": ["a", "b"]}`,
				`{"_id": 2, "email": "b2@x", "o": {"p": 2.5}}`,
				`{"_id": {"$oid": "`+oid.Hex()+`"}, "email": "new@x", "at": {"$date": "2024-01-01T00:00:00Z"}}`,
			)
			if err := c.InsertMany(ctx(t), batch); err != nil {
				t.Fatalf("insert many: %v", err)
			}
			for _, d := range batch {
				sameDoc(t, "stored", findOne(t, c, byID(lookup(d, "_id"))), d)
			}
			if got := find(t, c, parse(t, `{"tags": "b"}`), docstore.FindOptions{}); len(got) != 1 {
				t.Errorf("documents matching an element of an inserted array: %q, want [b1]", ids(got))
			}
		})
		s.run(t, "id_first", func(t *testing.T) {
			if err := c.InsertMany(ctx(t), []bson.D{{{Key: "email", Value: "late@x"}, {Key: "_id", Value: "late"}}}); err != nil {
				t.Fatalf("insert many: %v", err)
			}
			sameDoc(t, "stored", findOne(t, c, byID("late")), doc(t, `{"_id": "late", "email": "late@x"}`))
		})
		s.run(t, "empty_is_a_no_op", func(t *testing.T) {
			before := sortedIDs(find(t, c, bson.D{}, docstore.FindOptions{}))
			for _, batch := range [][]bson.D{nil, {}} {
				if err := c.InsertMany(ctx(t), batch); err != nil {
					t.Errorf("insert an empty batch: %v", err)
				}
			}
			if err := s.open(t).Collection("never").InsertMany(ctx(t), nil); err != nil {
				t.Errorf("insert an empty batch into a missing collection: %v", err)
			}
			if after := sortedIDs(find(t, c, bson.D{}, docstore.FindOptions{})); !slices.Equal(after, before) {
				t.Errorf("documents after an empty batch %q, want %q", after, before)
			}
		})
		s.run(t, "duplicate_id_in_batch", func(t *testing.T) {
			refused(t, docs(t, `{"_id": "d1", "email": "d1@x"}`, `{"_id": "d2", "email": "d2@x"}`, `{"_id": "d1", "email": "d3@x"}`), "_id", "_id")
		})
		s.run(t, "duplicate_id_stored", func(t *testing.T) {
			refused(t, docs(t, `{"_id": "s1", "email": "s1@x"}`, `{"_id": "stored", "email": "s2@x"}`, `{"_id": "s3", "email": "s3@x"}`), "_id", "_id")
			sameDoc(t, "stored document kept", findOne(t, c, byID("stored")), doc(t, `{"_id": "stored", "email": "taken@x"}`))
		})
		s.run(t, "unique_index_stored", func(t *testing.T) {
			refused(t, docs(t, `{"_id": "u1", "email": "u1@x"}`, `{"_id": "u2", "email": "taken@x"}`), "email_1", "email")
		})
		s.run(t, "unique_index_in_batch", func(t *testing.T) {
			refused(t, docs(t, `{"_id": "v1", "email": "same@x"}`, `{"_id": "v2", "email": "other@x"}`, `{"_id": "v3", "email": "same@x"}`), "email_1", "email")
		})
		s.run(t, "document_without_id", func(t *testing.T) {
			before := sortedIDs(find(t, c, bson.D{}, docstore.FindOptions{}))
			err := c.InsertMany(ctx(t), docs(t, `{"_id": "n1", "email": "n1@x"}`, `{"email": "n2@x"}`))
			if err == nil || docstore.IsDuplicate(err) {
				t.Errorf("insert a batch with a document without _id: %v, want a refusal", err)
			}
			if after := sortedIDs(find(t, c, bson.D{}, docstore.FindOptions{})); !slices.Equal(after, before) {
				t.Errorf("documents after a refused batch %q, want %q", after, before)
			}
		})
		s.run(t, "same_as_inserts", func(t *testing.T) {
			// What one batch stored, a later Insert or batch sees as taken.
			isDuplicate(t, "insert a batch's _id", c.Insert(ctx(t), doc(t, `{"_id": "b1", "email": "e0@x"}`)), "_id", "_id")
			isDuplicate(t, "insert a batch's email", c.Insert(ctx(t), doc(t, `{"_id": "e1", "email": "new@x"}`)), "email_1", "email")
		})
	})
}
