package sqlitestore

import (
	"context"
	"reflect"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/filter"
)

// TestScanPages holds sorted pages that no index serves (scan.go: sort keys read once per row,
// their type told from the extracted value where it can be) to the Go matcher and sortKey,
// on values whose extracted form is ambiguous: 0 and 1 beside false and true, strings that
// start as JSON objects and arrays do, ObjectIDs and dates (objects in JSON), null and
// missing fields.
// Ties keep the order in which the documents were inserted.
func TestScanPages(t *testing.T) {
	s := openTest(t, Options{NoPageCache: true})
	c := s.Collection("pages")
	ctx := context.Background()
	all := fixtures()
	oid, _ := bson.ObjectIDFromHex("5f1e2d3c4b5a69788796a5b4")
	// No plain objects: a path that holds one is sorted by bp_sortkey, not on a hoisted column.
	for i, v := range []any{int32(0), int32(1), 0.0, 1.0, false, true, "{a", "[b", "1", "", nil,
		oid, bson.DateTime(5), int64(-3), 2.5, "zz", "|", "\\", "{"} {
		all = append(all, bson.D{{Key: "_id", Value: int32(100 + i)}, {Key: "b", Value: v}, {Key: "d", Value: v}, {Key: "m", Value: int32(i % 3)}})
		all = append(all, bson.D{{Key: "_id", Value: int32(200 + i)}, {Key: "m", Value: v}})
	}
	for _, d := range all {
		if err := c.Insert(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	filters := []string{`{}`, `{"b": {"$gte": 0}}`, `{"b": {"$lt": 2}}`, `{"b": true}`, `{"b": {"$gt": "["}}`,
		`{"d": {"$exists": true}}`, `{"m": {"$ne": null}}`, `{"b": {"$in": [0, false, "1", null]}}`, `{"r": {"$gte": "5"}}`,
		`{"b": {"$gte": 0, "$ne": 1}}`, `{"b": {"$lte": "zz", "$gt": ""}, "m": {"$lt": 2}}`, `{"d": false}`}
	sorts := []bson.D{
		{{Key: "b", Value: 1}}, {{Key: "b", Value: -1}}, {{Key: "d", Value: -1}}, {{Key: "m", Value: 1}, {Key: "b", Value: -1}},
		{{Key: "m", Value: -1}, {Key: "_id", Value: -1}}, {{Key: "r", Value: 1}}, {{Key: "s", Value: -1}}, {{Key: "b", Value: -1}, {Key: "b", Value: 1}},
	}
	for _, raw := range filters {
		f, err := filter.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		m, err := newMatcher(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, spec := range sorts {
			var want []bson.D
			for _, d := range all {
				if m.match(d) {
					want = append(want, d)
				}
			}
			sortDocs(want, spec)
			for _, pg := range []page{{0, 5}, {3, 7}, {0, 1}, {10, 100}} {
				got, err := c.Find(ctx, f, docstore.FindOptions{Sort: spec, Skip: pg.skip, Limit: pg.limit})
				if err != nil {
					t.Fatalf("%s sort %v: %v", raw, spec, err)
				}
				lo, hi := min(int(pg.skip), len(want)), min(int(pg.skip+pg.limit), len(want))
				if !reflect.DeepEqual(ids(got), ids(want[lo:hi])) {
					t.Errorf("%s sort %v skip %d limit %d:\n  got %v\n want %v", raw, spec, pg.skip, pg.limit, ids(got), ids(want[lo:hi]))
				}
			}
		}
	}
}
