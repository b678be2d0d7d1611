package docstoretest

import (
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/backpackhq/backpack/tools/docstore"
)

// documents checks that every type the API stores comes back as it went in: same type, same
// value, same key order.
func (s *suite) documents(t *testing.T) {
	s.run(t, "Documents", func(t *testing.T) {
		c := s.open(t).Collection("things")

		values := []struct{ name, value string }{
			{"string", `"héllo wörld ✓"`},
			{"empty_string", `""`},
			{"int32", `5`},
			{"int32_min", `-2147483648`},
			{"int64_small", `{"$numberLong": "7"}`},
			{"int64_max", `{"$numberLong": "9223372036854775807"}`},
			{"int64_beyond_double", `{"$numberLong": "9007199254740993"}`},
			{"double_integral", `5.0`},
			{"double_fraction", `0.1`},
			{"double_negative_zero", `-0.0`},
			{"double_large", `1.7976931348623157e308`},
			{"double_tiny", `-5e-324`},
			{"true", `true`},
			{"false", `false`},
			{"null", `null`},
			{"object", `{"a": {"b": {"c": 1}}, "d": "x"}`},
			{"empty_object", `{}`},
			{"array", `[1, "a", null, true, 2.5]`},
			{"nested_array", `[[1, 2], [], [[3]]]`},
			{"empty_array", `[]`},
			{"array_of_objects", `[{"k": 1}, {"k": [2, {"m": null}]}]`},
			{"objectid", `{"$oid": "65a1b2c3d4e5f60718293a4b"}`},
			{"date", `{"$date": "2024-02-29T12:34:56.789Z"}`},
			{"date_before_1970", `{"$date": {"$numberLong": "-315619200000"}}`},
		}
		for _, v := range values {
			s.run(t, "RoundTrip/"+v.name, func(t *testing.T) {
				want := doc(t, `{"_id": "`+v.name+`", "v": `+v.value+`}`)
				insertAll(t, c, []bson.D{want})
				sameDoc(t, "stored document", findOne(t, c, byID(v.name)), want)
			})
		}

		s.run(t, "KeyOrder", func(t *testing.T) {
			want := doc(t, `{"_id": "order", "z": 1, "a": 2, "m": {"y": 1, "b": 2, "k": {"z": 0, "a": 0}}, "b": [{"z": 1, "a": 2}]}`)
			insertAll(t, c, []bson.D{want})
			sameDoc(t, "stored document", findOne(t, c, byID("order")), want)
		})

		s.run(t, "IDStoredFirst", func(t *testing.T) {
			// MongoDB moves _id to the front of a document it stores.
			insertAll(t, c, docs(t, `{"a": 1, "_id": "late", "b": 2}`))
			sameDoc(t, "stored document", findOne(t, c, byID("late")), doc(t, `{"_id": "late", "a": 1, "b": 2}`))
		})

		s.run(t, "OddKeys", func(t *testing.T) {
			long := strings.Repeat("k", 200)
			want := doc(t, `{"_id": "odd", "with space": 1, "ключ": 2, "🙂": 3, "a-b": 4, "0": 5, "10": 6, "`+long+`": 7, "UPPER": 8}`)
			insertAll(t, c, []bson.D{want})
			sameDoc(t, "stored document", findOne(t, c, byID("odd")), want)
			for _, f := range []string{`{"with space": 1}`, `{"ключ": 2}`, `{"🙂": {"$gte": 3}}`, `{"a-b": 4}`, `{"` + long + `": 7}`, `{"UPPER": 8}`} {
				if got := ids(find(t, c, parse(t, f), docstore.FindOptions{})); len(got) != 1 || got[0] != "odd" {
					t.Errorf("filter %s found %q, want [odd]", f, got)
				}
			}
		})

		s.run(t, "IDTypes", func(t *testing.T) {
			oid := bson.NewObjectID()
			insertAll(t, c, []bson.D{
				{{Key: "_id", Value: oid}, {Key: "kind", Value: "objectid"}},
				{{Key: "_id", Value: "plain"}, {Key: "kind", Value: "string"}},
			})
			got := findOne(t, c, byID(oid))
			if id, ok := lookup(got, "_id").(bson.ObjectID); !ok || id != oid || lookup(got, "kind") != "objectid" {
				t.Errorf("by ObjectID: got %s, want the ObjectID %s", extJSON(got), oid.Hex())
			}
			if got := lookup(findOne(t, c, byID("plain")), "kind"); got != "string" {
				t.Errorf("by string: kind %v, want string", got)
			}
		})
	})
}
