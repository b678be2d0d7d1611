package docstoretest

import (
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/backpackhq/backpack/tools/docstore"
)

// filterGroup is a set of documents and the filters run over them, each with the _ids MongoDB
// returns.
type filterGroup struct {
	name string
	// docs are the fixtures, in relaxed Extended JSON; each _id names what the document is.
	docs []string
	// indexes are created before the cases run again under FilterIndexed: an index must not
	// change any result.
	indexes [][]string
	cases   []filterCase
}

// filterCase is one filter and the documents it matches.
type filterCase struct {
	name string
	// filter is the JSON text a client sends, run through filter.Parse.
	filter string
	// raw is a filter the server builds itself, for values JSON cannot spell (ObjectIDs
	// outside _id, dates); used when filter is empty.
	raw bson.D
	// want are the _ids matched, in any order; allBut, when set, are the only ones not matched.
	want, allBut []string
}

// filters runs every filter group twice: on plain collections, then with indexes on the fields
// the filters use.
func (s *suite) filters(t *testing.T) {
	for _, indexed := range []bool{false, true} {
		top := "Filter"
		if indexed {
			top = "FilterIndexed"
		}
		s.run(t, top, func(t *testing.T) {
			for _, g := range filterGroups() {
				s.run(t, g.name, func(t *testing.T) {
					fixtures := docs(t, g.docs...)
					c := s.open(t).Collection("things")
					insertAll(t, c, fixtures)
					if indexed {
						for _, fields := range g.indexes {
							if err := c.CreateIndex(ctx(t), docstore.Index{Fields: fields}); err != nil {
								t.Fatalf("create index %q: %v", fields, err)
							}
						}
					}
					for _, tc := range g.cases {
						s.run(t, tc.name, func(t *testing.T) {
							checkFilter(t, c, fixtures, tc)
						})
					}
				})
			}
		})
	}
}

// checkFilter runs one case through Find and Count.
func checkFilter(t *testing.T, c docstore.Collection, fixtures []bson.D, tc filterCase) {
	t.Helper()
	f := tc.raw
	text := tc.filter
	if text != "" {
		f = parse(t, text)
	} else {
		text = extJSON(f)
	}
	want := tc.want
	if tc.allBut != nil {
		want = nil
		for _, id := range ids(fixtures) {
			if !slices.Contains(tc.allBut, id) {
				want = append(want, id)
			}
		}
	}
	want = sorted(want)
	got, err := c.Find(ctx(t), f, docstore.FindOptions{})
	if err != nil {
		t.Fatalf("find %s: %v", text, err)
	}
	if g := sortedIDs(got); !slices.Equal(g, want) {
		t.Errorf("filter %s\n found %q\n  want %q", text, g, want)
	}
	n, err := c.Count(ctx(t), f)
	if err != nil {
		t.Fatalf("count %s: %v", text, err)
	}
	if n != int64(len(want)) {
		t.Errorf("count %s = %d, want %d", text, n, len(want))
	}
}

// filterGroups are the filter cases, by theme.
func filterGroups() []filterGroup {
	oid := bson.ObjectID{0x65, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18, 0x29, 0x3a, 0x4b}
	day := bson.NewDateTimeFromTime(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	return []filterGroup{
		{
			// A missing field equals null; arrays match null by element; $exists tells
			// missing from null.
			name: "nulls",
			docs: []string{
				`{"_id": "missing"}`,
				`{"_id": "null", "v": null}`,
				`{"_id": "zero", "v": 0}`,
				`{"_id": "empty_string", "v": ""}`,
				`{"_id": "false", "v": false}`,
				`{"_id": "array_with_null", "v": [null, 1]}`,
				`{"_id": "empty_array", "v": []}`,
				`{"_id": "array", "v": [1, 2]}`,
				`{"_id": "empty_object", "v": {}}`,
			},
			indexes: [][]string{{"v"}},
			cases: []filterCase{
				{name: "eq_null", filter: `{"v": null}`, want: []string{"missing", "null", "array_with_null"}},
				{name: "dollar_eq_null", filter: `{"v": {"$eq": null}}`, want: []string{"missing", "null", "array_with_null"}},
				{name: "ne_null", filter: `{"v": {"$ne": null}}`, allBut: []string{"missing", "null", "array_with_null"}},
				{name: "not_eq_null", filter: `{"v": {"$not": {"$eq": null}}}`, allBut: []string{"missing", "null", "array_with_null"}},
				{name: "exists_true", filter: `{"v": {"$exists": true}}`, allBut: []string{"missing"}},
				{name: "exists_false", filter: `{"v": {"$exists": false}}`, want: []string{"missing"}},
				{name: "exists_and_ne_null", filter: `{"v": {"$exists": true, "$ne": null}}`, allBut: []string{"missing", "null", "array_with_null"}},
				{name: "in_null", filter: `{"v": {"$in": [null]}}`, want: []string{"missing", "null", "array_with_null"}},
				{name: "in_null_or_zero", filter: `{"v": {"$in": [null, 0]}}`, want: []string{"missing", "null", "array_with_null", "zero"}},
				{name: "nin_null", filter: `{"v": {"$nin": [null]}}`, allBut: []string{"missing", "null", "array_with_null"}},
				{name: "gte_null", filter: `{"v": {"$gte": null}}`, want: []string{"missing", "null", "array_with_null"}},
				{name: "lte_null", filter: `{"v": {"$lte": null}}`, want: []string{"missing", "null", "array_with_null"}},
				{name: "gt_null", filter: `{"v": {"$gt": null}}`},
				{name: "lt_null", filter: `{"v": {"$lt": null}}`},
				{name: "eq_false", filter: `{"v": false}`, want: []string{"false"}},
				{name: "eq_zero", filter: `{"v": 0}`, want: []string{"zero"}},
				{name: "eq_empty_string", filter: `{"v": ""}`, want: []string{"empty_string"}},
				{name: "eq_empty_array", filter: `{"v": []}`, want: []string{"empty_array"}},
				{name: "eq_empty_object", filter: `{"v": {}}`, want: []string{"empty_object"}},
				{name: "eq_element", filter: `{"v": 1}`, want: []string{"array_with_null", "array"}},
			},
		},
		{
			// Numbers of every type compare by value; comparisons only match values of the
			// operand's type class (type bracketing); strings compare byte by byte.
			name: "types",
			docs: []string{
				`{"_id": "int32", "v": 5}`,
				`{"_id": "int64", "v": {"$numberLong": "7"}}`,
				`{"_id": "double", "v": 5.0}`,
				`{"_id": "fraction", "v": 2.5}`,
				`{"_id": "negative", "v": -3}`,
				`{"_id": "negative_zero", "v": -0.0}`,
				`{"_id": "one", "v": 1}`,
				`{"_id": "beyond_double", "v": {"$numberLong": "9007199254740993"}}`,
				`{"_id": "numeric_string", "v": "5"}`,
				`{"_id": "lower_string", "v": "apple"}`,
				`{"_id": "upper_string", "v": "Banana"}`,
				`{"_id": "true", "v": true}`,
				`{"_id": "false", "v": false}`,
				`{"_id": "objectid", "v": {"$oid": "65a1b2c3d4e5f60718293a4b"}}`,
				`{"_id": "date", "v": {"$date": "2024-01-02T03:04:05Z"}}`,
				`{"_id": "object", "v": {"a": 1, "b": "x"}}`,
				`{"_id": "null", "v": null}`,
				`{"_id": "missing"}`,
			},
			indexes: [][]string{{"v"}},
			cases: []filterCase{
				{name: "eq_int_matches_double", filter: `{"v": 5}`, want: []string{"int32", "double"}},
				{name: "eq_double_matches_int", filter: `{"v": 5.0}`, want: []string{"int32", "double"}},
				{name: "eq_numeric_string", filter: `{"v": "5"}`, want: []string{"numeric_string"}},
				{name: "eq_zero_matches_negative_zero", filter: `{"v": 0}`, want: []string{"negative_zero"}},
				{name: "eq_one_is_not_true", filter: `{"v": 1}`, want: []string{"one"}},
				{name: "eq_true_is_not_one", filter: `{"v": true}`, want: []string{"true"}},
				{name: "gt_number_matches_only_numbers", filter: `{"v": {"$gt": 4}}`, want: []string{"int32", "int64", "double", "beyond_double"}},
				{name: "lt_zero", filter: `{"v": {"$lt": 0}}`, want: []string{"negative"}},
				{name: "lte_zero", filter: `{"v": {"$lte": 0}}`, want: []string{"negative", "negative_zero"}},
				{name: "range", filter: `{"v": {"$gt": 1, "$lt": 6}}`, want: []string{"int32", "double", "fraction"}},
				{name: "gte_string_binary_order", filter: `{"v": {"$gte": "B"}}`, want: []string{"lower_string", "upper_string"}},
				{name: "lt_string_binary_order", filter: `{"v": {"$lt": "a"}}`, want: []string{"numeric_string", "upper_string"}},
				{name: "gt_false", filter: `{"v": {"$gt": false}}`, want: []string{"true"}},
				{name: "gte_false", filter: `{"v": {"$gte": false}}`, want: []string{"false", "true"}},
				{name: "int64_exact", filter: `{"v": 9007199254740993}`, want: []string{"beyond_double"}},
				{name: "int64_neighbour", filter: `{"v": 9007199254740992}`},
				{name: "gt_double_below_int64", filter: `{"v": {"$gt": 9007199254740992.0}}`, want: []string{"beyond_double"}},
				{name: "in_mixed", filter: `{"v": {"$in": [5, "apple", true]}}`, want: []string{"int32", "double", "lower_string", "true"}},
				{name: "nin_mixed", filter: `{"v": {"$nin": [5, "apple", true]}}`, allBut: []string{"int32", "double", "lower_string", "true"}},
				{name: "ne_number", filter: `{"v": {"$ne": 5}}`, allBut: []string{"int32", "double"}},
				{name: "not_gt", filter: `{"v": {"$not": {"$gt": 4}}}`, allBut: []string{"int32", "int64", "double", "beyond_double"}},
				{name: "gt_object", filter: `{"v": {"$gt": {"a": 0}}}`, want: []string{"object"}},
				{name: "eq_object_int_vs_double", filter: `{"v": {"a": 1.0, "b": "x"}}`, want: []string{"object"}},
				{name: "eq_object_other_key_order", filter: `{"v": {"b": "x", "a": 1}}`},
				{name: "regex_matches_only_strings", filter: `{"v": {"$regex": "5"}}`, want: []string{"numeric_string"}},
				{name: "regex_case_insensitive", filter: `{"v": {"$regex": "^b", "$options": "i"}}`, want: []string{"upper_string"}},
				{name: "not_regex", filter: `{"v": {"$not": {"$regex": "^a"}}}`, allBut: []string{"lower_string"}},
				{name: "eq_objectid", raw: bson.D{{Key: "v", Value: oid}}, want: []string{"objectid"}},
				{name: "gt_objectid", raw: bson.D{{Key: "v", Value: bson.D{{Key: "$gt", Value: bson.ObjectID{}}}}}, want: []string{"objectid"}},
				{name: "eq_date", raw: bson.D{{Key: "v", Value: day}}, want: []string{"date"}},
				{name: "gt_date", raw: bson.D{{Key: "v", Value: bson.D{{Key: "$gt", Value: bson.DateTime(0)}}}}, want: []string{"date"}},
				{name: "lt_date", raw: bson.D{{Key: "v", Value: bson.D{{Key: "$lt", Value: day + 1}}}}, want: []string{"date"}},
			},
		},
		{
			// 64-bit integers compare exactly with doubles, even where a double cannot hold
			// them.
			name: "large_numbers",
			docs: []string{
				`{"_id": "int64_max", "v": {"$numberLong": "9223372036854775807"}}`,
				`{"_id": "int64_below_max", "v": {"$numberLong": "9223372036854775806"}}`,
				`{"_id": "int64_min", "v": {"$numberLong": "-9223372036854775808"}}`,
				`{"_id": "double_2_63", "v": 9223372036854775808.0}`,
				`{"_id": "double_1e19", "v": 1e19}`,
			},
			indexes: [][]string{{"v"}},
			cases: []filterCase{
				{name: "gt_int64_max", filter: `{"v": {"$gt": 9223372036854775807}}`, want: []string{"double_2_63", "double_1e19"}},
				{name: "eq_2_63", filter: `{"v": 9223372036854775808.0}`, want: []string{"double_2_63"}},
				{name: "lt_2_63", filter: `{"v": {"$lt": 9223372036854775808.0}}`, want: []string{"int64_max", "int64_below_max", "int64_min"}},
				{name: "eq_int64_max", filter: `{"v": 9223372036854775807}`, want: []string{"int64_max"}},
				{name: "lt_above_int64_min", filter: `{"v": {"$lt": -9223372036854775807}}`, want: []string{"int64_min"}},
				{name: "gte_negative_double", filter: `{"v": {"$gte": -9.3e18}}`, allBut: []string{}},
			},
		},
		{
			// A filter on an array field matches by element or as a whole array; operators
			// on one field may be met by different elements.
			name: "arrays",
			docs: []string{
				`{"_id": "numbers", "v": [1, 5, 9]}`,
				`{"_id": "strings", "v": ["red", "green"]}`,
				`{"_id": "mixed", "v": [3, "3", true]}`,
				`{"_id": "empty", "v": []}`,
				`{"_id": "single", "v": [5]}`,
				`{"_id": "scalar", "v": 5}`,
				`{"_id": "objects", "v": [{"k": 1, "n": "a"}, {"k": 5}]}`,
				`{"_id": "objects2", "v": [{"k": 2}, {"n": "b"}]}`,
				`{"_id": "missing"}`,
			},
			indexes: [][]string{{"v"}, {"v.k"}, {"v.n"}},
			cases: []filterCase{
				{name: "eq_element", filter: `{"v": 5}`, want: []string{"numbers", "single", "scalar"}},
				{name: "eq_whole_array", filter: `{"v": [1, 5, 9]}`, want: []string{"numbers"}},
				{name: "eq_single_element_array", filter: `{"v": [5]}`, want: []string{"single"}},
				{name: "eq_array_order_matters", filter: `{"v": [9, 5, 1]}`},
				{name: "eq_empty_array", filter: `{"v": []}`, want: []string{"empty"}},
				{name: "eq_string_element", filter: `{"v": "3"}`, want: []string{"mixed"}},
				{name: "eq_number_element", filter: `{"v": 3}`, want: []string{"mixed"}},
				{name: "eq_bool_element", filter: `{"v": true}`, want: []string{"mixed"}},
				{name: "gt_element", filter: `{"v": {"$gt": 8}}`, want: []string{"numbers"}},
				{name: "range_met_by_different_elements", filter: `{"v": {"$gt": 6, "$lt": 4}}`, want: []string{"numbers"}},
				{name: "range_one_value", filter: `{"v": {"$gte": 5, "$lte": 5}}`, want: []string{"numbers", "single", "scalar"}},
				{name: "in_elements", filter: `{"v": {"$in": [9, "red"]}}`, want: []string{"numbers", "strings"}},
				{name: "in_whole_array", filter: `{"v": {"$in": [[5], "x"]}}`, want: []string{"single"}},
				{name: "nin_elements", filter: `{"v": {"$nin": [5, "red"]}}`, allBut: []string{"numbers", "single", "scalar", "strings"}},
				{name: "ne_element", filter: `{"v": {"$ne": 5}}`, allBut: []string{"numbers", "single", "scalar"}},
				{name: "not_gt_element", filter: `{"v": {"$not": {"$gt": 4}}}`, allBut: []string{"numbers", "single", "scalar"}},
				{name: "regex_element", filter: `{"v": {"$regex": "^gr"}}`, want: []string{"strings"}},
				{name: "exists_empty_array", filter: `{"v": {"$exists": true}}`, allBut: []string{"missing"}},
				{name: "dotted_element", filter: `{"v.k": 5}`, want: []string{"objects"}},
				{name: "dotted_element_gte", filter: `{"v.k": {"$gte": 2}}`, want: []string{"objects", "objects2"}},
				{name: "dotted_not_exists", filter: `{"v.n": {"$exists": false}}`, allBut: []string{"objects", "objects2"}},
				{name: "eq_object_element", filter: `{"v": {"k": 5}}`, want: []string{"objects"}},
				{name: "eq_object_element_whole", filter: `{"v": {"k": 1}}`},
				{name: "array_index_path", filter: `{"v.2": 9}`, want: []string{"numbers"}},
				{name: "array_index_path_string", filter: `{"v.0": "red"}`, want: []string{"strings"}},
			},
		},
		{
			// Arrays inside arrays: an element that is an array matches as a whole, and a
			// filter on a value does not look inside it.
			name: "nested_arrays",
			docs: []string{
				`{"_id": "nested", "v": [[1, 5], 7]}`,
				`{"_id": "flat", "v": [1, 5]}`,
				`{"_id": "deeper", "v": [[[1, 5]]]}`,
			},
			indexes: [][]string{{"v"}},
			cases: []filterCase{
				{name: "eq_array_matches_element_or_whole", filter: `{"v": [1, 5]}`, want: []string{"nested", "flat"}},
				{name: "eq_value_not_inside_nested", filter: `{"v": 5}`, want: []string{"flat"}},
				{name: "eq_element", filter: `{"v": 7}`, want: []string{"nested"}},
				{name: "gt_not_inside_nested", filter: `{"v": {"$gt": 6}}`, want: []string{"nested"}},
				{name: "in_whole_array", filter: `{"v": {"$in": [[1, 5]]}}`, want: []string{"nested", "flat"}},
				{name: "eq_nested_whole", filter: `{"v": [[1, 5]]}`, want: []string{"deeper"}},
				{name: "ne_array", filter: `{"v": {"$ne": [1, 5]}}`, want: []string{"deeper"}},
			},
		},
		{
			// Dotted paths reach into objects and through arrays of objects.
			name: "dotted",
			docs: []string{
				`{"_id": "deep", "a": {"b": {"c": 1}}}`,
				`{"_id": "deep_more", "a": {"b": {"c": 2, "d": "x"}}}`,
				`{"_id": "shallow", "a": {"b": 5}}`,
				`{"_id": "scalar", "a": 5}`,
				`{"_id": "empty", "a": {}}`,
				`{"_id": "null_b", "a": {"b": null}}`,
				`{"_id": "missing"}`,
				`{"_id": "array", "a": [{"b": {"c": 1}}, {"b": {"c": 3}}]}`,
			},
			indexes: [][]string{{"a.b.c"}, {"a.b"}, {"a"}},
			cases: []filterCase{
				{name: "deep_eq", filter: `{"a.b.c": 1}`, want: []string{"deep", "array"}},
				{name: "deep_gt", filter: `{"a.b.c": {"$gt": 1}}`, want: []string{"deep_more", "array"}},
				{name: "deep_ne", filter: `{"a.b.c": {"$ne": 1}}`, allBut: []string{"deep", "array"}},
				{name: "middle_eq", filter: `{"a.b": 5}`, want: []string{"shallow"}},
				{name: "middle_exists", filter: `{"a.b": {"$exists": true}}`, want: []string{"deep", "deep_more", "shallow", "null_b", "array"}},
				{name: "middle_not_exists", filter: `{"a.b": {"$exists": false}}`, want: []string{"scalar", "empty", "missing"}},
				{name: "middle_null", filter: `{"a.b": null}`, want: []string{"scalar", "empty", "null_b", "missing"}},
				{name: "deep_null", filter: `{"a.b.c": null}`, want: []string{"shallow", "scalar", "empty", "null_b", "missing"}},
				{name: "eq_object", filter: `{"a": {"b": {"c": 1}}}`, want: []string{"deep", "array"}},
				{name: "eq_object_missing_field", filter: `{"a": {"b": {"c": 2}}}`},
				{name: "eq_object_other_key_order", filter: `{"a": {"b": {"d": "x", "c": 2}}}`},
				{name: "eq_object_same_key_order", filter: `{"a": {"b": {"c": 2, "d": "x"}}}`, want: []string{"deep_more"}},
				{name: "dotted_eq_object", filter: `{"a.b": {"c": 1}}`, want: []string{"deep", "array"}},
				{name: "eq_empty_object", filter: `{"a": {}}`, want: []string{"empty"}},
				{name: "deep_regex", filter: `{"a.b.d": {"$regex": "X", "$options": "i"}}`, want: []string{"deep_more"}},
			},
		},
		{
			// Equality to null through an array: an object element lacking the field matches,
			// a scalar element or an empty array does not, a scalar in place of the object does
			// (mongo's jstests/core/null2.js and null_query_semantics.js).
			name: "null_through_arrays",
			docs: []string{
				`{"_id": "has_b", "a": [{"b": 5}]}`,
				`{"_id": "lacks_b", "a": [{}]}`,
				`{"_id": "empty", "a": []}`,
				`{"_id": "one_lacks_b", "a": [{}, {"b": 5}]}`,
				`{"_id": "scalar_and_b", "a": [5, {"b": 5}]}`,
				`{"_id": "scalars", "a": [1, "x"]}`,
				`{"_id": "nulls", "a": [null, null]}`,
				`{"_id": "b_null", "a": [{"b": null}, {"b": 3}]}`,
				`{"_id": "number", "a": 4}`,
			},
			indexes: [][]string{{"a.b"}},
			cases: []filterCase{
				{name: "eq_null", filter: `{"a.b": null}`, want: []string{"lacks_b", "one_lacks_b", "b_null", "number"}},
				{name: "in_null", filter: `{"a.b": {"$in": [null, 75]}}`, want: []string{"lacks_b", "one_lacks_b", "b_null", "number"}},
				{name: "ne_null", filter: `{"a.b": {"$ne": null}}`, want: []string{"has_b", "empty", "scalar_and_b", "scalars", "nulls"}},
				{name: "nin_null", filter: `{"a.b": {"$nin": [null, 75]}}`, want: []string{"has_b", "empty", "scalar_and_b", "scalars", "nulls"}},
				{name: "exists_false", filter: `{"a.b": {"$exists": false}}`, want: []string{"lacks_b", "empty", "scalars", "nulls", "number"}},
			},
		},
		{
			// Objects compare field by field in order: first the type of the values, then the
			// field names, then the values; an object that is a prefix of another is smaller.
			name: "object_comparison",
			docs: []string{
				`{"_id": "k3_m3", "v": {"k": 3, "m": 3}}`,
				`{"_id": "m_object", "v": {"m": {}}}`,
				`{"_id": "a_string", "v": {"a": "x"}}`,
				`{"_id": "a1_b1", "v": {"a": 1, "b": 1}}`,
				`{"_id": "a1", "v": {"a": 1}}`,
				`{"_id": "number", "v": 5}`,
			},
			indexes: [][]string{{"v"}},
			cases: []filterCase{
				{name: "gt", filter: `{"v": {"$gt": {"a": 1}}}`, want: []string{"k3_m3", "m_object", "a_string", "a1_b1"}},
				{name: "lt_by_field_name", filter: `{"v": {"$lt": {"b": 0}}}`, want: []string{"a1", "a1_b1"}},
				{name: "lte_prefix_is_smaller", filter: `{"v": {"$lte": {"a": 1, "b": 1}}}`, want: []string{"a1", "a1_b1"}},
				{name: "gte_by_value_type", filter: `{"v": {"$gte": {"m": {}}}}`, want: []string{"m_object"}},
				{name: "lt_value_type_before_field_name", filter: `{"v": {"$lt": {"a": "a"}}}`, want: []string{"k3_m3", "a1_b1", "a1"}},
				{name: "eq_whole_object", filter: `{"v": {"a": 1}}`, want: []string{"a1"}},
			},
		},
		{
			// $and, $or and fields side by side.
			name: "logic",
			docs: []string{
				`{"_id": "a", "n": 1, "s": "x"}`,
				`{"_id": "b", "n": 2, "s": "y"}`,
				`{"_id": "c", "n": 3, "s": "x"}`,
				`{"_id": "d", "n": 4}`,
				`{"_id": "e", "s": "z"}`,
			},
			indexes: [][]string{{"n", "-s"}, {"s"}},
			cases: []filterCase{
				{name: "empty", filter: `{}`, allBut: []string{}},
				{name: "implicit_and", filter: `{"n": {"$gt": 1}, "s": "x"}`, want: []string{"c"}},
				{name: "or", filter: `{"$or": [{"n": 1}, {"s": "y"}]}`, want: []string{"a", "b"}},
				{name: "and", filter: `{"$and": [{"n": {"$gte": 2}}, {"n": {"$lte": 3}}]}`, want: []string{"b", "c"}},
				{name: "or_of_missing", filter: `{"$or": [{"n": {"$exists": false}}, {"s": {"$exists": false}}]}`, want: []string{"d", "e"}},
				{name: "and_of_or", filter: `{"$and": [{"$or": [{"n": 1}, {"n": 3}]}, {"s": "x"}]}`, want: []string{"a", "c"}},
				{name: "or_of_and", filter: `{"$or": [{"$and": [{"n": 2}, {"s": "y"}]}, {"s": "z"}]}`, want: []string{"b", "e"}},
				{name: "or_beside_field", filter: `{"$or": [{"n": 4}, {"n": 1}], "s": {"$exists": false}}`, want: []string{"d"}},
				{name: "in_empty", filter: `{"n": {"$in": []}}`},
				{name: "nin_empty", filter: `{"n": {"$nin": []}}`, allBut: []string{}},
				{name: "not_in", filter: `{"s": {"$not": {"$in": ["x", "y"]}}}`, want: []string{"d", "e"}},
				{name: "ne_and_exists", filter: `{"s": {"$ne": "x", "$exists": true}}`, want: []string{"b", "e"}},
			},
		},
		{
			// $regex with each flag, over strings only, as PCRE runs it: $ also matches before
			// a final newline.
			name: "regex",
			docs: []string{
				`{"_id": "lower", "s": "apple pie"}`,
				`{"_id": "upper", "s": "APPLE"}`,
				`{"_id": "lines", "s": "first line\nsecond line"}`,
				`{"_id": "newline", "s": "a\nb"}`,
				`{"_id": "accent", "s": "café"}`,
				`{"_id": "number", "s": 5}`,
				`{"_id": "array", "s": ["pear", "apple"]}`,
				`{"_id": "trailing_newline", "s": "tail\n"}`,
				`{"_id": "missing"}`,
			},
			indexes: [][]string{{"s"}},
			cases: []filterCase{
				{name: "prefix", filter: `{"s": {"$regex": "^apple"}}`, want: []string{"lower", "array"}},
				{name: "option_i", filter: `{"s": {"$regex": "^apple", "$options": "i"}}`, want: []string{"lower", "upper", "array"}},
				{name: "start_anchor_without_m", filter: `{"s": {"$regex": "^second"}}`},
				{name: "start_anchor_option_m", filter: `{"s": {"$regex": "^second", "$options": "m"}}`, want: []string{"lines"}},
				{name: "end_anchor_without_m", filter: `{"s": {"$regex": "first line$"}}`},
				{name: "end_anchor_option_m", filter: `{"s": {"$regex": "first line$", "$options": "m"}}`, want: []string{"lines"}},
				{name: "end_anchor_before_final_newline", filter: `{"s": {"$regex": "tail$"}}`, want: []string{"trailing_newline"}},
				{name: "end_of_text", filter: `{"s": {"$regex": "tail\\z"}}`},
				{name: "dot_without_s", filter: `{"s": {"$regex": "a.b"}}`},
				{name: "dot_option_s", filter: `{"s": {"$regex": "a.b", "$options": "s"}}`, want: []string{"newline"}},
				{name: "option_x", filter: `{"s": {"$regex": "app le", "$options": "x"}}`, want: []string{"lower", "array"}},
				{name: "options_im", filter: `{"s": {"$regex": "^A.*E$", "$options": "im"}}`, want: []string{"lower", "upper", "array"}},
				{name: "dot_is_one_character", filter: `{"s": {"$regex": "^caf.$"}}`, want: []string{"accent"}},
				{name: "numbers_never_match", filter: `{"s": {"$regex": "5"}}`},
				{name: "empty_pattern_matches_strings", filter: `{"s": {"$regex": ""}}`, allBut: []string{"number", "missing"}},
				{name: "not_regex", filter: `{"s": {"$not": {"$regex": "^apple", "$options": "i"}}}`, want: []string{"lines", "newline", "accent", "number", "trailing_newline", "missing"}},
			},
		},
		{
			// _id as ObjectID and as string; filter.Parse turns 24-hex strings into ObjectIDs.
			name: "ids",
			docs: []string{
				`{"_id": {"$oid": "650000000000000000000001"}, "n": 1}`,
				`{"_id": {"$oid": "650000000000000000000002"}, "n": 2}`,
				`{"_id": "abc", "n": 3}`,
				`{"_id": "b", "n": 4}`,
			},
			indexes: [][]string{{"n"}},
			cases: []filterCase{
				{name: "objectid_as_hex", filter: `{"_id": "650000000000000000000001"}`, want: []string{"650000000000000000000001"}},
				{name: "string", filter: `{"_id": "abc"}`, want: []string{"abc"}},
				{name: "in_mixed", filter: `{"_id": {"$in": ["650000000000000000000002", "abc"]}}`, want: []string{"650000000000000000000002", "abc"}},
				{name: "gt_objectid", filter: `{"_id": {"$gt": "650000000000000000000001"}}`, want: []string{"650000000000000000000002"}},
				{name: "gte_string", filter: `{"_id": {"$gte": "a"}}`, want: []string{"abc", "b"}},
				{name: "ne_string", filter: `{"_id": {"$ne": "abc"}}`, allBut: []string{"abc"}},
				{name: "nin_mixed", filter: `{"_id": {"$nin": ["650000000000000000000001", "b"]}}`, want: []string{"650000000000000000000002", "abc"}},
			},
		},
	}
}
