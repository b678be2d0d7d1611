package docstoretest

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/backpackhq/backpack/tools/docstore"
)

// writes checks Insert, Replace, Update, Delete and DeleteMany.
func (s *suite) writes(t *testing.T) {
	s.run(t, "Insert", func(t *testing.T) {
		c := s.open(t).Collection("things")
		first := doc(t, `{"_id": "x", "n": 1}`)
		insertAll(t, c, []bson.D{first})
		s.run(t, "duplicate_id", func(t *testing.T) {
			err := c.Insert(ctx(t), doc(t, `{"_id": "x", "n": 2}`))
			isDuplicate(t, "insert a taken _id", err, "_id", "_id")
			sameDoc(t, "document kept", findOne(t, c, byID("x")), first)
		})
		s.run(t, "duplicate_objectid", func(t *testing.T) {
			oid := bson.NewObjectID()
			insertAll(t, c, []bson.D{{{Key: "_id", Value: oid}}})
			isDuplicate(t, "insert a taken ObjectID", c.Insert(ctx(t), bson.D{{Key: "_id", Value: oid}}), "_id", "_id")
		})
		s.run(t, "id_string_and_number_differ", func(t *testing.T) {
			insertAll(t, c, []bson.D{{{Key: "_id", Value: "1"}}, {{Key: "_id", Value: int32(1)}}})
		})
		s.run(t, "id_objectid_and_hex_string_differ", func(t *testing.T) {
			oid := bson.NewObjectID()
			insertAll(t, c, []bson.D{{{Key: "_id", Value: oid}}, {{Key: "_id", Value: oid.Hex()}}})
		})
	})

	s.run(t, "Replace", func(t *testing.T) {
		c := s.open(t).Collection("things")
		insertAll(t, c, docs(t,
			`{"_id": "r1", "a": 1, "b": 2}`,
			`{"_id": "cas", "_updatedAt": {"$date": "2024-01-01T00:00:00Z"}, "v": 1}`,
			`{"_id": "new", "v": 1}`,
		))
		s.run(t, "whole_document", func(t *testing.T) {
			want := doc(t, `{"_id": "r1", "c": 3}`)
			got, err := c.Replace(ctx(t), byID("r1"), want)
			if err != nil {
				t.Fatalf("replace: %v", err)
			}
			sameDoc(t, "returned", got, want)
			sameDoc(t, "stored", findOne(t, c, byID("r1")), want)
		})
		s.run(t, "keeps_id", func(t *testing.T) {
			got, err := c.Replace(ctx(t), byID("r1"), doc(t, `{"d": 4}`))
			if err != nil {
				t.Fatalf("replace: %v", err)
			}
			want := doc(t, `{"_id": "r1", "d": 4}`)
			sameDoc(t, "returned", got, want)
			sameDoc(t, "stored", findOne(t, c, byID("r1")), want)
		})
		s.run(t, "compare_and_swap", func(t *testing.T) {
			// The filter the server builds from the _updatedAt it read.
			read := lookup(findOne(t, c, byID("cas")), "_updatedAt")
			was := bson.D{{Key: "_id", Value: "cas"}, {Key: "_updatedAt", Value: read}}
			next := doc(t, `{"_id": "cas", "_updatedAt": {"$date": "2024-01-02T00:00:00Z"}, "v": 2}`)
			if _, err := c.Replace(ctx(t), was, next); err != nil {
				t.Fatalf("replace with the _updatedAt read: %v", err)
			}
			_, err := c.Replace(ctx(t), was, doc(t, `{"_id": "cas", "_updatedAt": {"$date": "2024-01-03T00:00:00Z"}, "v": 3}`))
			isNotFound(t, "replace with a stale _updatedAt", err)
			sameDoc(t, "stored", findOne(t, c, byID("cas")), next)
		})
		s.run(t, "compare_and_swap_not_exists", func(t *testing.T) {
			unset := parse(t, `{"_id": "new", "_updatedAt": {"$exists": false}}`)
			next := doc(t, `{"_id": "new", "_updatedAt": {"$date": "2024-01-02T00:00:00Z"}, "v": 2}`)
			if _, err := c.Replace(ctx(t), unset, next); err != nil {
				t.Fatalf("replace while _updatedAt is unset: %v", err)
			}
			_, err := c.Replace(ctx(t), unset, doc(t, `{"_id": "new", "v": 3}`))
			isNotFound(t, "replace once _updatedAt is set", err)
			sameDoc(t, "stored", findOne(t, c, byID("new")), next)
		})
		s.run(t, "no_match", func(t *testing.T) {
			_, err := c.Replace(ctx(t), byID("nobody"), doc(t, `{"_id": "nobody"}`))
			isNotFound(t, "replace a missing document", err)
			if n, err := c.Count(ctx(t), byID("nobody")); err != nil || n != 0 {
				t.Errorf("count after replacing nothing = %d, %v; want 0, nil", n, err)
			}
		})
	})

	s.run(t, "Update", func(t *testing.T) {
		c := s.open(t).Collection("things")
		insertAll(t, c, docs(t, `{"_id": "same1", "g": "x"}`, `{"_id": "same2", "g": "x"}`))
		cases := []struct {
			name   string
			before string // the document, whose _id is the case's name
			change docstore.Change
			want   string
		}{
			{"set_existing_keeps_place_new_goes_last", `{"a": 1, "b": 2}`, docstore.Change{Set: doc(t, `{"a": 10, "c": 3}`)}, `{"a": 10, "b": 2, "c": 3}`},
			// MongoDB 5.0 and later apply the fields of an update in lexicographic order, so
			// new fields are appended sorted by name.
			{"set_new_fields_in_name_order", `{"a": 1}`, docstore.Change{Set: doc(t, `{"z": 1, "m": 2}`)}, `{"a": 1, "m": 2, "z": 1}`},
			{"set_dotted_creates_objects", `{"a": 1}`, docstore.Change{Set: doc(t, `{"p.q.r": 1}`)}, `{"a": 1, "p": {"q": {"r": 1}}}`},
			{"set_dotted_into_object", `{"o": {"x": 1}, "a": 1}`, docstore.Change{Set: doc(t, `{"o.x": 5, "o.y": 2}`)}, `{"o": {"x": 5, "y": 2}, "a": 1}`},
			{"set_replaces_type", `{"a": 1, "b": 2}`, docstore.Change{Set: doc(t, `{"a": {"n": [1, null]}}`)}, `{"a": {"n": [1, null]}, "b": 2}`},
			{"set_keeps_value_types", `{"a": 1}`, docstore.Change{Set: doc(t, `{"d": 3.0, "i": 1, "l": {"$numberLong": "2"}, "t": {"$date": "2024-01-01T00:00:00Z"}}`)}, `{"a": 1, "d": 3.0, "i": 1, "l": {"$numberLong": "2"}, "t": {"$date": "2024-01-01T00:00:00Z"}}`},
			{"push", `{"tags": ["a"], "n": 1}`, docstore.Change{Push: doc(t, `{"tags": "b"}`)}, `{"tags": ["a", "b"], "n": 1}`},
			{"push_object", `{"tags": ["a"]}`, docstore.Change{Push: doc(t, `{"tags": {"k": 1}}`)}, `{"tags": ["a", {"k": 1}]}`},
			{"push_creates_array", `{"a": 1}`, docstore.Change{Push: doc(t, `{"list": 1}`)}, `{"a": 1, "list": [1]}`},
			{"set_and_push", `{"a": 1, "list": [1]}`, docstore.Change{Set: doc(t, `{"a": 2}`), Push: doc(t, `{"list": 2}`)}, `{"a": 2, "list": [1, 2]}`},
		}
		for _, tc := range cases {
			s.run(t, tc.name, func(t *testing.T) {
				withID := func(text string) bson.D {
					return append(bson.D{{Key: "_id", Value: tc.name}}, doc(t, text)...)
				}
				insertAll(t, c, []bson.D{withID(tc.before)})
				got, err := c.Update(ctx(t), byID(tc.name), tc.change)
				if err != nil {
					t.Fatalf("update: %v", err)
				}
				want := withID(tc.want)
				sameDoc(t, "returned", got, want)
				sameDoc(t, "stored", findOne(t, c, byID(tc.name)), want)
			})
		}
		s.run(t, "no_match", func(t *testing.T) {
			_, err := c.Update(ctx(t), byID("nobody"), docstore.Change{Set: doc(t, `{"a": 1}`)})
			isNotFound(t, "update a missing document", err)
		})
		s.run(t, "first_match_only", func(t *testing.T) {
			if _, err := c.Update(ctx(t), parse(t, `{"g": "x"}`), docstore.Change{Set: doc(t, `{"hit": true}`)}); err != nil {
				t.Fatalf("update: %v", err)
			}
			if n, err := c.Count(ctx(t), parse(t, `{"hit": true}`)); err != nil || n != 1 {
				t.Errorf("documents updated = %d, %v; want 1", n, err)
			}
		})
		s.run(t, "upsert_by_id", func(t *testing.T) {
			got, err := c.Update(ctx(t), byID("up"), docstore.Change{Set: doc(t, `{"n": 1}`), Upsert: true})
			if err != nil {
				t.Fatalf("upsert: %v", err)
			}
			sameDoc(t, "inserted", got, doc(t, `{"_id": "up", "n": 1}`))
			got, err = c.Update(ctx(t), byID("up"), docstore.Change{Set: doc(t, `{"n": 2}`), Upsert: true})
			if err != nil {
				t.Fatalf("upsert again: %v", err)
			}
			sameDoc(t, "updated", got, doc(t, `{"_id": "up", "n": 2}`))
			if n, err := c.Count(ctx(t), byID("up")); err != nil || n != 1 {
				t.Errorf("documents = %d, %v; want 1", n, err)
			}
		})
		s.run(t, "upsert_takes_equalities", func(t *testing.T) {
			// The new document gets the filter's equality conditions (not its other
			// conditions), then the change, and an ObjectID _id first.
			f := parse(t, `{"owner": "x", "kind": "k", "n": {"$gt": 5}}`)
			got, err := c.Update(ctx(t), f, docstore.Change{Set: doc(t, `{"m": 1}`), Push: doc(t, `{"log": "made"}`), Upsert: true})
			if err != nil {
				t.Fatalf("upsert: %v", err)
			}
			if len(got) == 0 || got[0].Key != "_id" {
				t.Fatalf("upserted %s: want _id first", extJSON(got))
			}
			if _, ok := got[0].Value.(bson.ObjectID); !ok {
				t.Errorf("upserted _id %#v, want an ObjectID", got[0].Value)
			}
			sameDoc(t, "upserted", got[1:], doc(t, `{"owner": "x", "kind": "k", "log": ["made"], "m": 1}`))
			sameDoc(t, "stored", findOne(t, c, byID(got[0].Value)), got)
		})
	})

	s.run(t, "Delete", func(t *testing.T) {
		c := s.open(t).Collection("things")
		insertAll(t, c, docs(t,
			`{"_id": "d1", "g": "x", "n": 1}`,
			`{"_id": "d2", "g": "x", "n": 2}`,
			`{"_id": "d3", "g": "y", "n": 3}`,
			`{"_id": "d4", "g": "y", "n": 4}`,
			`{"_id": "d5", "g": "z", "n": 5}`,
		))
		s.run(t, "returns_the_document", func(t *testing.T) {
			got, err := c.Delete(ctx(t), byID("d1"))
			if err != nil {
				t.Fatalf("delete: %v", err)
			}
			sameDoc(t, "deleted", got, doc(t, `{"_id": "d1", "g": "x", "n": 1}`))
			_, err = c.FindOne(ctx(t), byID("d1"), docstore.FindOptions{})
			isNotFound(t, "find the deleted document", err)
			_, err = c.Delete(ctx(t), byID("d1"))
			isNotFound(t, "delete it again", err)
		})
		s.run(t, "first_match_only", func(t *testing.T) {
			if _, err := c.Delete(ctx(t), parse(t, `{"g": "y"}`)); err != nil {
				t.Fatalf("delete: %v", err)
			}
			if n, err := c.Count(ctx(t), parse(t, `{"g": "y"}`)); err != nil || n != 1 {
				t.Errorf("left = %d, %v; want 1", n, err)
			}
		})
		s.run(t, "many", func(t *testing.T) {
			n, err := c.DeleteMany(ctx(t), parse(t, `{"n": {"$gte": 2}, "g": {"$ne": "z"}}`))
			if err != nil || n != 2 {
				t.Errorf("delete many = %d, %v; want 2, nil", n, err)
			}
			n, err = c.DeleteMany(ctx(t), parse(t, `{"g": "nobody"}`))
			if err != nil || n != 0 {
				t.Errorf("delete many matching nothing = %d, %v; want 0, nil", n, err)
			}
			n, err = c.DeleteMany(ctx(t), bson.D{})
			if err != nil || n != 1 {
				t.Errorf("delete all = %d, %v; want 1, nil", n, err)
			}
			if left := find(t, c, bson.D{}, docstore.FindOptions{}); len(left) != 0 {
				t.Errorf("left %q, want none", ids(left))
			}
		})
	})
}
