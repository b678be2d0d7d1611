package docstoretest

import (
	"slices"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/backpackhq/backpack/tools/docstore"
)

// sortGroup is a set of documents and sorts over them, each with the order MongoDB returns.
// The data has no ties, or the sort ends on _id, so that every order is fully specified.
type sortGroup struct {
	name    string
	docs    []string
	indexes [][]string
	cases   []sortCase
}

// sortCase is one sort (items as the API's ?sort= takes them) and the _ids in order.
type sortCase struct {
	name string
	sort []string
	want []string
}

// sorts runs every sort group on plain collections, then with indexes on the sorted fields.
func (s *suite) sorts(t *testing.T) {
	for _, indexed := range []bool{false, true} {
		top := "Sort"
		if indexed {
			top = "SortIndexed"
		}
		s.run(t, top, func(t *testing.T) {
			for _, g := range sortGroups() {
				s.run(t, g.name, func(t *testing.T) {
					c := s.open(t).Collection("things")
					insertAll(t, c, docs(t, g.docs...))
					if indexed {
						for _, fields := range g.indexes {
							if err := c.CreateIndex(ctx(t), docstore.Index{Fields: fields}); err != nil {
								t.Fatalf("create index %q: %v", fields, err)
							}
						}
					}
					for _, tc := range g.cases {
						s.run(t, tc.name, func(t *testing.T) {
							got := ids(find(t, c, bson.D{}, docstore.FindOptions{Sort: sortSpec(t, tc.sort...)}))
							if !slices.Equal(got, tc.want) {
								t.Errorf("sort %q\n  got %q\n want %q", tc.sort, got, tc.want)
							}
							// FindOne gives the first in the same order, whatever Skip and Limit say.
							first, err := c.FindOne(ctx(t), bson.D{}, docstore.FindOptions{Sort: sortSpec(t, tc.sort...), Skip: 2, Limit: 5})
							if err != nil {
								t.Fatalf("find one sorted %q: %v", tc.sort, err)
							}
							if id := idString(lookup(first, "_id")); id != tc.want[0] {
								t.Errorf("find one sorted %q gave %q, want %q", tc.sort, id, tc.want[0])
							}
						})
					}
				})
			}
		})
	}
}

// sortGroups are the sort cases.
func sortGroups() []sortGroup {
	return []sortGroup{
		{
			// MongoDB's order across types: [] (as a sort key) < missing = null < numbers <
			// strings < objects < arrays < ObjectId < booleans < dates. An array sorts by its
			// smallest element ascending and its largest descending.
			name: "type_order",
			docs: []string{
				`{"_id": "missing"}`,
				`{"_id": "null", "v": null}`,
				`{"_id": "int", "v": 3}`,
				`{"_id": "double", "v": -1.5}`,
				`{"_id": "long", "v": {"$numberLong": "1000000000000"}}`,
				`{"_id": "string", "v": "abc"}`,
				`{"_id": "string_upper", "v": "Zed"}`,
				`{"_id": "object_empty", "v": {}}`,
				`{"_id": "object_a1", "v": {"a": 1}}`,
				`{"_id": "object_a2", "v": {"a": 2}}`,
				`{"_id": "object_b0", "v": {"b": 0}}`,
				`{"_id": "nested_array", "v": [[1]]}`,
				`{"_id": "array_numbers", "v": [5, 0.5]}`,
				`{"_id": "array_mixed", "v": ["b", 2]}`,
				`{"_id": "array_empty", "v": []}`,
				`{"_id": "objectid", "v": {"$oid": "65a1b2c3d4e5f60718293a4b"}}`,
				`{"_id": "false", "v": false}`,
				`{"_id": "true", "v": true}`,
				`{"_id": "date", "v": {"$date": "2024-01-02T03:04:05Z"}}`,
				`{"_id": "date_before_1970", "v": {"$date": {"$numberLong": "-315619200000"}}}`,
			},
			indexes: [][]string{{"v"}, {"-v", "_id"}},
			cases: []sortCase{
				{name: "ascending", sort: []string{"v", "_id"}, want: []string{
					"array_empty", "missing", "null",
					"double", "array_numbers", "array_mixed", "int", "long",
					"string_upper", "string",
					"object_empty", "object_a1", "object_a2", "object_b0",
					"nested_array",
					"objectid",
					"false", "true",
					"date_before_1970", "date",
				}},
				{name: "descending", sort: []string{"-v", "_id"}, want: []string{
					"date", "date_before_1970",
					"true", "false",
					"objectid",
					"nested_array",
					"object_b0", "object_a2", "object_a1", "object_empty",
					"array_mixed", "string", "string_upper",
					"long", "array_numbers", "int", "double",
					"missing", "null",
					"array_empty",
				}},
			},
		},
		{
			// Numbers of every type sort by value; strings byte by byte (UTF-8).
			name: "scalars",
			docs: []string{
				`{"_id": "n1", "n": 2, "s": "a"}`,
				`{"_id": "n2", "n": {"$numberLong": "10"}, "s": "B"}`,
				`{"_id": "n3", "n": 2.5, "s": "é"}`,
				`{"_id": "n4", "n": -1, "s": "z"}`,
				`{"_id": "n5", "n": 1e20, "s": "Z"}`,
				`{"_id": "n6", "n": {"$numberLong": "-9007199254740993"}, "s": "aa"}`,
				`{"_id": "n7", "n": 0.25, "s": ""}`,
			},
			indexes: [][]string{{"n"}, {"s"}},
			cases: []sortCase{
				{name: "numbers_ascending", sort: []string{"n"}, want: []string{"n6", "n4", "n7", "n1", "n3", "n2", "n5"}},
				{name: "numbers_descending", sort: []string{"-n"}, want: []string{"n5", "n2", "n3", "n1", "n7", "n4", "n6"}},
				{name: "strings_ascending", sort: []string{"s"}, want: []string{"n7", "n2", "n5", "n1", "n6", "n4", "n3"}},
				{name: "strings_descending", sort: []string{"-s"}, want: []string{"n3", "n4", "n6", "n1", "n5", "n2", "n7"}},
				{name: "id_descending", sort: []string{"-_id"}, want: []string{"n7", "n6", "n5", "n4", "n3", "n2", "n1"}},
			},
		},
		{
			// Several keys, the first most significant; dotted paths; arrays by their
			// smallest element ascending and largest descending, which need not be the
			// reverse order.
			name: "keys",
			docs: []string{
				`{"_id": "k1", "g": "x", "n": 1, "a": {"b": 3}, "arr": [3, 1]}`,
				`{"_id": "k2", "g": "y", "n": 2, "a": {"b": 1}, "arr": [2]}`,
				`{"_id": "k3", "g": "x", "n": 3, "a": [{"b": 2}, {"b": 10}], "arr": [0, 4]}`,
				`{"_id": "k4", "g": "y", "n": 0, "a": {"b": 0.5}, "arr": 2.5}`,
			},
			indexes: [][]string{{"g", "-n"}, {"a.b"}, {"arr"}},
			cases: []sortCase{
				{name: "two_keys", sort: []string{"g", "-n"}, want: []string{"k3", "k1", "k2", "k4"}},
				{name: "two_keys_reversed", sort: []string{"-g", "n"}, want: []string{"k4", "k2", "k1", "k3"}},
				{name: "dotted_ascending", sort: []string{"a.b"}, want: []string{"k4", "k2", "k3", "k1"}},
				{name: "dotted_descending", sort: []string{"-a.b"}, want: []string{"k3", "k1", "k2", "k4"}},
				{name: "array_ascending_by_smallest", sort: []string{"arr"}, want: []string{"k3", "k1", "k2", "k4"}},
				{name: "array_descending_by_largest", sort: []string{"-arr"}, want: []string{"k3", "k1", "k4", "k2"}},
			},
		},
	}
}
