package docstoretest

import (
	"slices"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/filter"
)

// reads checks projection, paging, Count and Sum.
func (s *suite) reads(t *testing.T) {
	s.run(t, "Projection", func(t *testing.T) {
		c := s.open(t).Collection("things")
		insertAll(t, c, docs(t,
			`{"_id": "p1", "a": 1, "b": {"c": 2, "d": 3}, "e": [{"c": 1, "x": 1}, 5, {"x": 2}], "f": "s"}`,
			`{"_id": "p2", "a": 2}`,
			`{"f": "t", "_id": "p3", "b": 5, "e": {"c": 7, "x": 0}}`,
		))
		cases := []struct {
			name   string
			fields string // as the API's ?fields= takes them
			want   []string
		}{
			{"top_level", "a", []string{`{"_id": "p1", "a": 1}`, `{"_id": "p2", "a": 2}`, `{"_id": "p3"}`}},
			{"document_order_kept", "f,a", []string{`{"_id": "p1", "a": 1, "f": "s"}`, `{"_id": "p2", "a": 2}`, `{"_id": "p3", "f": "t"}`}},
			{"whole_object", "b", []string{`{"_id": "p1", "b": {"c": 2, "d": 3}}`, `{"_id": "p2"}`, `{"_id": "p3", "b": 5}`}},
			{"dotted", "b.c", []string{`{"_id": "p1", "b": {"c": 2}}`, `{"_id": "p2"}`, `{"_id": "p3"}`}},
			{"dotted_through_array", "e.c", []string{`{"_id": "p1", "e": [{"c": 1}, {}]}`, `{"_id": "p2"}`, `{"_id": "p3", "e": {"c": 7}}`}},
			{"missing_field", "nothing", []string{`{"_id": "p1"}`, `{"_id": "p2"}`, `{"_id": "p3"}`}},
			{"id_only", "_id", []string{`{"_id": "p1"}`, `{"_id": "p2"}`, `{"_id": "p3"}`}},
		}
		for _, tc := range cases {
			s.run(t, tc.name, func(t *testing.T) {
				proj, err := filter.ParseFields(tc.fields)
				if err != nil {
					t.Fatalf("fields %q: %v", tc.fields, err)
				}
				got := find(t, c, bson.D{}, docstore.FindOptions{Projection: proj, Sort: sortSpec(t, "_id")})
				sameDocs(t, "projected on "+tc.fields, got, docs(t, tc.want...))
				one, err := c.FindOne(ctx(t), byID("p1"), docstore.FindOptions{Projection: proj})
				if err != nil {
					t.Fatalf("find one projected on %q: %v", tc.fields, err)
				}
				sameDoc(t, "find one projected on "+tc.fields, one, doc(t, tc.want[0]))
			})
		}
	})

	s.run(t, "Paging", func(t *testing.T) {
		c := s.open(t).Collection("things")
		for i := range 10 {
			insertAll(t, c, []bson.D{{{Key: "_id", Value: "d" + string(rune('0'+i))}, {Key: "n", Value: int32(i)}}})
		}
		cases := []struct {
			name        string
			filter      string
			sort        string
			skip, limit int64
			want        string
		}{
			{"skip_and_limit", `{}`, "n", 3, 4, "d3 d4 d5 d6"},
			{"no_limit", `{}`, "n", 0, 0, "d0 d1 d2 d3 d4 d5 d6 d7 d8 d9"},
			{"skip_past_the_end", `{}`, "n", 20, 0, ""},
			{"limit_past_the_end", `{}`, "n", 8, 5, "d8 d9"},
			{"descending_limit", `{}`, "-n", 0, 3, "d9 d8 d7"},
			{"filtered", `{"n": {"$gte": 5}}`, "n", 1, 2, "d6 d7"},
		}
		for _, tc := range cases {
			s.run(t, tc.name, func(t *testing.T) {
				got := ids(find(t, c, parse(t, tc.filter), docstore.FindOptions{Sort: sortSpec(t, tc.sort), Skip: tc.skip, Limit: tc.limit}))
				if want := strings.Fields(tc.want); !slices.Equal(got, want) {
					t.Errorf("got %q, want %q", got, want)
				}
			})
		}
		s.run(t, "count", func(t *testing.T) {
			for f, want := range map[string]int64{
				`{}`:                            10,
				`{"n": {"$gte": 5}}`:            5,
				`{"n": {"$in": [1, 2, 99]}}`:    2,
				`{"n": {"$exists": false}}`:     0,
				`{"_id": {"$in": ["d1", "x"]}}`: 1,
			} {
				n, err := c.Count(ctx(t), parse(t, f))
				if err != nil {
					t.Fatalf("count %s: %v", f, err)
				}
				if n != want {
					t.Errorf("count %s = %d, want %d", f, n, want)
				}
			}
		})
	})

	s.run(t, "Sum", func(t *testing.T) {
		c := s.open(t).Collection("things")
		insertAll(t, c, docs(t,
			`{"_id": "s1", "kind": "a", "size": 10}`,
			`{"_id": "s2", "kind": "a", "size": {"$numberLong": "20"}}`,
			`{"_id": "s3", "kind": "b", "size": 2.0}`,
			`{"_id": "s4", "kind": "b", "size": "5"}`,
			`{"_id": "s5", "kind": "a"}`,
			`{"_id": "s6", "kind": "b", "size": null}`,
			`{"_id": "s7", "kind": "a", "size": true}`,
			`{"_id": "s8", "kind": "c", "size": {"$numberLong": "5000000000"}, "meta": {"size": 3}}`,
			`{"_id": "s9", "kind": "c", "meta": {"size": 4}}`,
		))
		cases := []struct {
			name, filter, field string
			want                int64
		}{
			{"all", `{}`, "size", 5000000032},
			{"filtered", `{"kind": "a"}`, "size", 30},
			{"non_numbers_count_zero", `{"kind": "b"}`, "size", 2},
			{"nothing_matches", `{"kind": "zz"}`, "size", 0},
			{"dotted", `{}`, "meta.size", 7},
		}
		for _, tc := range cases {
			s.run(t, tc.name, func(t *testing.T) {
				got, err := c.Sum(ctx(t), parse(t, tc.filter), tc.field)
				if err != nil {
					t.Fatalf("sum %s over %s: %v", tc.field, tc.filter, err)
				}
				if got != tc.want {
					t.Errorf("sum %s over %s = %d, want %d", tc.field, tc.filter, got, tc.want)
				}
			})
		}
	})
}
