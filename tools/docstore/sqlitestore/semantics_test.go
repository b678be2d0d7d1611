package sqlitestore

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"sort"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/filter"
)

// sortDocs sorts documents as sortKey says MongoDB does, keeping ties in their order.
func sortDocs(ds []bson.D, spec bson.D) {
	sort.SliceStable(ds, func(i, j int) bool {
		for _, e := range spec {
			desc := normalize(e.Value) != int32(1)
			c := bytes.Compare(sortKey(ds[i], e.Key, desc), sortKey(ds[j], e.Key, desc))
			if desc {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return false
	})
}

// fixtures are documents with every type class, on fields that hold arrays in some documents
// (so the Go matcher serves them) and fields that never do (so SQL does).
func fixtures() []bson.D {
	oid1, _ := bson.ObjectIDFromHex("5f1e2d3c4b5a69788796a5b4")
	oid2, _ := bson.ObjectIDFromHex("6a1e2d3c4b5a69788796a5b4")
	date := bson.DateTime(1700000000000)
	return []bson.D{
		{{Key: "_id", Value: "s1"}, {Key: "n", Value: int32(5)}, {Key: "s", Value: "abc"}, {Key: "tags", Value: bson.A{"a", "b"}}, {Key: "o", Value: bson.D{{Key: "x", Value: int32(1)}}}},
		{{Key: "_id", Value: "s2"}, {Key: "n", Value: 5.5}, {Key: "s", Value: "ABD"}, {Key: "tags", Value: "a"}, {Key: "o", Value: bson.D{{Key: "x", Value: "1"}}}},
		{{Key: "_id", Value: "s3"}, {Key: "n", Value: int64(7)}, {Key: "s", Value: nil}, {Key: "tags", Value: bson.A{}}, {Key: "b", Value: true}},
		{{Key: "_id", Value: "s4"}, {Key: "n", Value: "6"}, {Key: "b", Value: false}, {Key: "tags", Value: bson.A{bson.D{{Key: "k", Value: int32(1)}}, bson.D{{Key: "k", Value: int32(2)}}}}},
		{{Key: "_id", Value: "s5"}, {Key: "n", Value: true}, {Key: "s", Value: "x\ny"}, {Key: "r", Value: oid1}, {Key: "d", Value: date}},
		{{Key: "_id", Value: oid1}, {Key: "n", Value: nil}, {Key: "r", Value: oid2}, {Key: "d", Value: date + 1}, {Key: "tags", Value: bson.A{int32(1), "1", nil, oid2, date, true}}},
		{{Key: "_id", Value: oid2}, {Key: "o", Value: bson.D{{Key: "x", Value: bson.A{int32(1), int32(2)}}}}, {Key: "s", Value: "ab"}},
		{{Key: "_id", Value: int32(3)}, {Key: "n", Value: -1.5}, {Key: "o", Value: bson.D{{Key: "y", Value: bson.D{{Key: "z", Value: int32(0)}}}}}, {Key: "s", Value: ""}},
		{{Key: "_id", Value: int64(10)}, {Key: "n", Value: bson.D{{Key: "a", Value: int32(1)}}}, {Key: "b", Value: int32(1)}},
		{{Key: "_id", Value: "s6"}, {Key: "n", Value: bson.A{int32(3), int32(9)}}, {Key: "s", Value: bson.A{"zz", "aa"}}, {Key: "arr", Value: bson.A{bson.A{int32(1)}}}},
	}
}

// checkFilter runs filter through the engine and the Go matcher and compares the answers.
func checkFilter(t *testing.T, c docstore.Collection, all []bson.D, f bson.D) {
	t.Helper()
	ctx := context.Background()
	got, err := c.Find(ctx, f, docstore.FindOptions{Sort: bson.D{{Key: "_id", Value: 1}}})
	if err != nil {
		if !errors.Is(err, docstore.ErrInvalidQuery) {
			t.Fatalf("filter %v: %v is not ErrInvalidQuery", f, err)
		}
		return
	}
	m, err := newMatcher(f)
	if err != nil {
		t.Fatalf("filter %v: the engine ran it, the matcher refuses it: %v", f, err)
	}
	var want []bson.D
	for _, d := range all {
		if m.match(d) {
			want = append(want, d)
		}
	}
	sortDocs(want, bson.D{{Key: "_id", Value: 1}})
	if !reflect.DeepEqual(ids(got), ids(want)) {
		t.Fatalf("filter %v:\n SQL found %v\nmatcher %v", f, ids(got), ids(want))
	}
	n, err := c.Count(ctx, f)
	if err != nil || n != int64(len(want)) {
		t.Fatalf("count %v = %d, %v; want %d", f, n, err, len(want))
	}
}

// semanticsStore is a store holding fixtures, with indexes on some fields.
func semanticsStore(t testing.TB) (docstore.Collection, []bson.D) {
	s := openTest(t, Options{})
	c := s.Collection("fx")
	all := fixtures()
	for _, d := range all {
		if err := c.Insert(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"n", "s", "o.x"} {
		if err := c.CreateIndex(context.Background(), docstore.Index{Fields: []string{f}}); err != nil {
			t.Fatal(err)
		}
	}
	sortDocs(all, bson.D{{Key: "_id", Value: 1}})
	return c, all
}

// filterSeeds are client filters over the fixtures' fields, also the fuzz target's seeds.
var filterSeeds = []string{
	`{}`,
	`{"n": 5}`, `{"n": 5.0}`, `{"n": {"$gt": 5}}`, `{"n": {"$gte": 5, "$lt": 7}}`, `{"n": {"$lte": "7"}}`,
	`{"n": null}`, `{"n": {"$ne": null}}`, `{"n": {"$exists": false}}`, `{"n": {"$exists": true}}`,
	`{"n": {"$in": [5, "6", true, null]}}`, `{"n": {"$nin": [5, 7]}}`, `{"n": {"$not": {"$gt": 5}}}`,
	`{"n": {"a": 1}}`, `{"n": [3, 9]}`, `{"n": 9}`, `{"n": {"$gt": 8}}`, `{"n": {"$gte": true}}`,
	`{"s": {"$regex": "^ab"}}`, `{"s": {"$regex": "^ab", "$options": "i"}}`, `{"s": {"$regex": "^y", "$options": "m"}}`,
	`{"s": {"$regex": "a b", "$options": "x"}}`, `{"s": {"$not": {"$regex": "b"}}}`, `{"s": ""}`, `{"s": {"$gt": "ab"}}`,
	`{"tags": "a"}`, `{"tags": ["a", "b"]}`, `{"tags": []}`, `{"tags": null}`, `{"tags": {"$ne": "a"}}`, `{"tags": {"$in": ["b", 1]}}`,
	`{"tags.k": 2}`, `{"tags.k": {"$gt": 1}}`, `{"tags.k": null}`, `{"tags.0": "a"}`, `{"tags": {"$exists": true}}`,
	`{"o.x": 1}`, `{"o.x": "1"}`, `{"o.x": {"$gte": 1}}`, `{"o.y.z": 0}`, `{"o": {"x": 1}}`, `{"o.x": {"$exists": false}}`,
	`{"b": true}`, `{"b": {"$gt": false}}`, `{"b": 1}`, `{"b": {"$ne": true}}`,
	`{"_id": "s1"}`, `{"_id": {"$gt": "s2"}}`, `{"_id": {"$lt": "s2"}}`, `{"_id": "5f1e2d3c4b5a69788796a5b4"}`,
	`{"_id": {"$gt": "5f1e2d3c4b5a69788796a5b4"}}`, `{"_id": {"$lte": 10}}`, `{"_id": {"$in": ["s1", 3, "6a1e2d3c4b5a69788796a5b4"]}}`,
	`{"_id": {"$regex": "^s[12]"}}`, `{"_id": {"$nin": ["s1"]}, "n": {"$exists": true}}`,
	`{"$or": [{"n": 5}, {"tags": "a"}]}`, `{"$and": [{"n": {"$gt": 0}}, {"n": {"$lt": 6}}]}`, `{"$or": [{"s": null}, {"b": false}]}`,
	`{"arr": [1]}`, `{"arr": 1}`, `{"tags": true}`, `{"tags": {"$gt": 0}}`, `{"tags": {"$lte": "b"}}`, `{"tags": {"$regex": "^[ab1]"}}`,
	`{"tags": {"$not": {"$gte": "a"}}}`, `{"tags": {"$nin": [null, "b"]}}`, `{"tags": {"$gte": null}}`, `{"tags": {"$exists": false}}`, `{"r": {"$gt": "5f1e2d3c4b5a69788796a5b4"}}`,
}

// TestSemantics holds SQL and the Go matcher to the same answers on the fixtures.
func TestSemantics(t *testing.T) {
	c, all := semanticsStore(t)
	for _, raw := range filterSeeds {
		f, err := filter.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		checkFilter(t, c, all, f)
	}
	// Server-built filters with ObjectIDs, dates and ids the client cannot spell.
	oid1, _ := bson.ObjectIDFromHex("5f1e2d3c4b5a69788796a5b4")
	oid2, _ := bson.ObjectIDFromHex("6a1e2d3c4b5a69788796a5b4")
	date := bson.DateTime(1700000000000)
	for _, f := range []bson.D{
		{{Key: "r", Value: oid1}},
		{{Key: "r", Value: bson.D{{Key: "$gte", Value: oid1}}}},
		{{Key: "d", Value: bson.D{{Key: "$gt", Value: date}}}},
		{{Key: "d", Value: date}},
		{{Key: "_id", Value: oid1}},
		{{Key: "_id", Value: bson.D{{Key: "$gte", Value: oid1}}}},
		{{Key: "_id", Value: int64(3)}},
		{{Key: "tags", Value: oid2}},
		{{Key: "tags", Value: bson.D{{Key: "$gte", Value: oid1}}}},
		{{Key: "tags", Value: date}},
		{{Key: "tags", Value: bson.D{{Key: "$lt", Value: date + 5}}}},
	} {
		checkFilter(t, c, all, f)
	}
}

// TestSorts holds SQL sorts to sortKey's order, MongoDB's type order.
func TestSorts(t *testing.T) {
	c, all := semanticsStore(t)
	for _, spec := range []bson.D{
		{{Key: "n", Value: 1}}, {{Key: "n", Value: -1}}, {{Key: "s", Value: 1}}, {{Key: "s", Value: -1}},
		{{Key: "tags", Value: 1}}, {{Key: "tags", Value: -1}}, {{Key: "o.x", Value: 1}}, {{Key: "r", Value: -1}},
		{{Key: "d", Value: 1}}, {{Key: "_id", Value: -1}}, {{Key: "b", Value: 1}, {Key: "n", Value: -1}},
	} {
		got, err := c.Find(context.Background(), nil, docstore.FindOptions{Sort: append(spec, bson.E{Key: "_id", Value: 1})})
		if err != nil {
			t.Fatal(err)
		}
		want := append([]bson.D(nil), all...)
		sortDocs(want, append(spec, bson.E{Key: "_id", Value: 1}))
		if !reflect.DeepEqual(ids(got), ids(want)) {
			t.Errorf("sort %v:\n    SQL %v\nsortKey %v", spec, ids(got), ids(want))
		}
	}
}

// FuzzFilter feeds client filters (whatever filter.Parse accepts) to the engine: it must
// never panic, refuse nothing but with ErrInvalidQuery, and find what the Go matcher finds.
func FuzzFilter(f *testing.F) {
	for _, seed := range filterSeeds {
		f.Add(seed)
	}
	c, all := semanticsStore(f)
	f.Fuzz(func(t *testing.T, raw string) {
		flt, err := filter.Parse(raw)
		if err != nil {
			return
		}
		checkFilter(t, c, all, flt)
	})
}
