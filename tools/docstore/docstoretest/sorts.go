package docstoretest

import (
	"errors"
	"slices"
	"strings"
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

// parallelArrays checks that MongoDB's refusal of a sort on two keys that are both arrays in
// one document holds: the query is the client's fault.
func (s *suite) parallelArrays(t *testing.T) {
	s.run(t, "SortParallelArrays", func(t *testing.T) {
		c := s.open(t).Collection("things")
		insertAll(t, c, docs(t, `{"_id": 1, "a": [], "b": 1}`, `{"_id": 2, "a": 1, "b": []}`, `{"_id": 3, "a": [1, 2], "b": [3]}`))
		_, err := c.Find(ctx(t), bson.D{}, docstore.FindOptions{Sort: sortSpec(t, "a", "b")})
		if !errors.Is(err, docstore.ErrInvalidQuery) {
			t.Errorf("sort on a and b, both arrays in one document: got %v, want docstore.ErrInvalidQuery", err)
		}
		got := ids(find(t, c, parse(t, `{"_id": {"$ne": 3}}`), docstore.FindOptions{Sort: sortSpec(t, "a", "b")}))
		if want := []string{"1", "2"}; !slices.Equal(got, want) {
			t.Errorf("sort on a and b without that document: got %q, want %q", got, want)
		}
	})
}

// sortGroups are the sort cases.
func sortGroups() []sortGroup {
	return []sortGroup{
		{
			// MongoDB's order across types: [] (as a sort key) < missing = null < numbers <
			// strings < objects < arrays < ObjectId < booleans < dates. An array sorts by its
			// smallest element ascending and its largest descending, so arrays take their
			// place in the order only as elements of arrays (nested_arrays).
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
					"objectid",
					"false", "true",
					"date_before_1970", "date",
				}},
				{name: "descending", sort: []string{"-v", "_id"}, want: []string{
					"date", "date_before_1970",
					"true", "false",
					"objectid",
					"object_b0", "object_a2", "object_a1", "object_empty",
					"array_mixed", "string", "string_upper",
					"long", "array_numbers", "int", "double",
					"missing", "null",
					"array_empty",
				}},
			},
		},
		{
			// An array's element that is itself an array sorts after objects and before
			// ObjectIds.
			name: "nested_arrays",
			docs: []string{
				`{"_id": "string", "v": "x"}`,
				`{"_id": "object", "v": {"a": 1}}`,
				`{"_id": "nested", "v": [[1]]}`,
				`{"_id": "objectid", "v": {"$oid": "65a1b2c3d4e5f60718293a4b"}}`,
			},
			indexes: [][]string{{"v"}},
			cases: []sortCase{
				{name: "ascending", sort: []string{"v"}, want: []string{"string", "object", "nested", "objectid"}},
				{name: "descending", sort: []string{"-v"}, want: []string{"objectid", "nested", "object", "string"}},
			},
		},
		{
			// Objects compare field by field in order: the type of the values, then the field
			// names, then the values; a prefix is smaller. Arrays inside them compare as
			// arrays, element by element, after objects.
			name: "objects",
			docs: []string{
				`{"_id": "k3_m3", "v": {"k": 3, "m": 3}}`,
				`{"_id": "m_object", "v": {"m": {}}}`,
				`{"_id": "a_string", "v": {"a": "x"}}`,
				`{"_id": "a1_b1", "v": {"a": 1, "b": 1}}`,
				`{"_id": "a1", "v": {"a": 1}}`,
				`{"_id": "k_number", "w": {"k": 3}}`,
				`{"_id": "k_object", "w": {"k": {"z": 1}}}`,
				`{"_id": "k_empty_array", "w": {"k": []}}`,
				`{"_id": "k_array_1_9", "w": {"k": [1, 9]}}`,
				`{"_id": "k_array_5", "w": {"k": [5]}}`,
			},
			indexes: [][]string{{"v"}, {"w"}},
			cases: []sortCase{
				{name: "ascending", sort: []string{"v", "w"}, want: []string{
					"k_number", "k_object", "k_empty_array", "k_array_1_9", "k_array_5",
					"a1", "a1_b1", "k3_m3", "a_string", "m_object",
				}},
				{name: "descending", sort: []string{"-v", "-w"}, want: []string{
					"m_object", "a_string", "k3_m3", "a1_b1", "a1",
					"k_array_5", "k_array_1_9", "k_empty_array", "k_object", "k_number",
				}},
			},
		},
		{
			// A missing field and null are equal in a sort: the next key decides.
			name: "null_and_missing_tie",
			docs: []string{
				`{"_id": "missing_w2", "w": 2}`,
				`{"_id": "null_w1", "v": null, "w": 1}`,
				`{"_id": "null_w3", "v": null, "w": 3}`,
				`{"_id": "missing_w0", "w": 0}`,
			},
			indexes: [][]string{{"v", "w"}},
			cases: []sortCase{
				{name: "then_ascending", sort: []string{"v", "w"}, want: []string{"missing_w0", "null_w1", "missing_w2", "null_w3"}},
				{name: "then_descending", sort: []string{"v", "-w"}, want: []string{"null_w3", "missing_w2", "null_w1", "missing_w0"}},
				{name: "descending_then_ascending", sort: []string{"-v", "w"}, want: []string{"missing_w0", "null_w1", "missing_w2", "null_w3"}},
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
			// Through arrays of objects and arrays of values at once; an element's empty
			// array sorts below null ascending and last descending (mongo's
			// jstests/core/query/sort/sort_dotted_paths.js).
			name: "dotted_through_arrays",
			docs: []string{
				`{"_id": "1", "a": {"b": 2}}`,
				`{"_id": "2", "a": {"b": []}}`,
				`{"_id": "3", "a": {"b": [2, 3]}}`,
				`{"_id": "4", "a": {"c": 1}}`,
				`{"_id": "5", "a": []}`,
				`{"_id": "6", "a": [{"b": [5]}]}`,
				`{"_id": "7", "a": [{"b": [4, 5]}, {"b": 7}]}`,
				`{"_id": "8", "a": [{"b": [1, 3]}, {"b": [2, 5]}]}`,
				`{"_id": "9", "a": [{"b": []}, {"b": [1, 3]}]}`,
			},
			indexes: [][]string{{"a.b"}},
			cases: []sortCase{
				{name: "ascending", sort: []string{"a.b", "_id"}, want: strings.Fields("2 9 4 5 8 1 3 7 6")},
				{name: "ascending_id_descending", sort: []string{"a.b", "-_id"}, want: strings.Fields("9 2 5 4 8 3 1 7 6")},
				{name: "descending", sort: []string{"-a.b", "_id"}, want: strings.Fields("7 6 8 3 9 1 4 5 2")},
				{name: "descending_id_descending", sort: []string{"-a.b", "-_id"}, want: strings.Fields("7 8 6 9 3 1 5 4 2")},
			},
		},
		{
			// Three levels, arrays at any of them (sort_dotted_paths.js).
			name: "dotted_three_levels",
			docs: []string{
				`{"_id": "1", "a": {"b": {"c": 2}}}`,
				`{"_id": "2", "a": {"b": {"c": []}}}`,
				`{"_id": "3", "a": [{"b": []}, {"b": {"c": []}}]}`,
				`{"_id": "4", "a": [{"b": {"c": 1}}]}`,
				`{"_id": "5", "a": {"b": [{"c": 3}, {"d": 1}]}}`,
				`{"_id": "6", "a": {"b": [{"c": [5]}]}}`,
				`{"_id": "7", "a": []}`,
				`{"_id": "8", "a": {"b": [{"c": [1, 3]}, {"c": [2, 5]}]}}`,
				`{"_id": "9", "a": [{"b": [{"c": []}, {"c": [1, 3]}]}]}`,
			},
			indexes: [][]string{{"a.b.c"}},
			cases: []sortCase{
				{name: "ascending", sort: []string{"a.b.c", "_id"}, want: strings.Fields("2 3 9 5 7 4 8 1 6")},
				{name: "ascending_id_descending", sort: []string{"a.b.c", "-_id"}, want: strings.Fields("9 3 2 7 5 8 4 1 6")},
				{name: "descending", sort: []string{"-a.b.c", "_id"}, want: strings.Fields("6 8 5 9 1 4 3 7 2")},
				{name: "descending_id_descending", sort: []string{"-a.b.c", "-_id"}, want: strings.Fields("8 6 9 5 1 4 7 3 2")},
			},
		},
		{
			// Two keys, arrays in one or the other (sort_dotted_paths.js).
			name: "two_array_keys",
			docs: []string{
				`{"_id": "1", "a": 1, "b": [2]}`,
				`{"_id": "2", "a": 2, "b": []}`,
				`{"_id": "3", "a": [], "b": 4}`,
				`{"_id": "4", "a": [1], "b": 4}`,
				`{"_id": "5", "a": [2, 3], "b": 2}`,
				`{"_id": "6", "a": 2, "b": [3, 5]}`,
				`{"_id": "7", "a": 1, "b": [1, 3]}`,
				`{"_id": "8", "a": [1, 2], "b": 3}`,
				`{"_id": "9", "a": 2, "b": 3}`,
			},
			indexes: [][]string{{"a", "b"}},
			cases: []sortCase{
				{name: "both_ascending", sort: []string{"a", "b", "_id"}, want: strings.Fields("3 7 1 8 4 2 5 6 9")},
				{name: "ascending_descending", sort: []string{"a", "-b", "_id"}, want: strings.Fields("3 4 7 8 1 6 9 5 2")},
				{name: "descending_ascending", sort: []string{"-a", "b", "_id"}, want: strings.Fields("5 2 6 8 9 7 1 4 3")},
				{name: "both_descending", sort: []string{"-a", "-b", "_id"}, want: strings.Fields("5 6 8 9 2 4 7 1 3")},
			},
		},
		{
			// 64-bit integers and doubles sort by exact value.
			name: "large_numbers",
			docs: []string{
				`{"_id": "int64_max", "v": {"$numberLong": "9223372036854775807"}}`,
				`{"_id": "int64_below_max", "v": {"$numberLong": "9223372036854775806"}}`,
				`{"_id": "int64_min", "v": {"$numberLong": "-9223372036854775808"}}`,
				`{"_id": "double_2_63", "v": 9223372036854775808.0}`,
				`{"_id": "double_below_min", "v": -1e19}`,
			},
			indexes: [][]string{{"v"}},
			cases: []sortCase{
				{name: "ascending", sort: []string{"v"}, want: []string{"double_below_min", "int64_min", "int64_below_max", "int64_max", "double_2_63"}},
				{name: "descending", sort: []string{"-v"}, want: []string{"double_2_63", "int64_max", "int64_below_max", "int64_min", "double_below_min"}},
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
