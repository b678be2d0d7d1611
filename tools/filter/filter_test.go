package filter

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

const hexID = "5f1e2d3c4b5a69788796a5b4"

func mustID(t *testing.T, s string) bson.ObjectID {
	t.Helper()
	id, err := bson.ObjectIDFromHex(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// e builds one element of an expected document.
func e(key string, val any) bson.E {
	return bson.E{Key: key, Value: val}
}

func TestParseAccepts(t *testing.T) {
	id := mustID(t, hexID)
	tests := []struct {
		name string
		in   string
		want bson.D
	}{
		{"empty string", "", bson.D{}},
		{"whitespace", " \n\t", bson.D{}},
		{"empty object", "{}", bson.D{}},
		{"scalars and key order", `{"b":"x","a":1,"c.d":1.5,"n":null,"t":true}`,
			bson.D{e("b", "x"), e("a", int64(1)), e("c.d", 1.5), e("n", nil), e("t", true)}},
		{"literal array", `{"a":[1,"x",[true]]}`, bson.D{e("a", bson.A{int64(1), "x", bson.A{true}})}},
		{"literal object", `{"a":{"b":{"c":1}}}`, bson.D{e("a", bson.D{e("b", bson.D{e("c", int64(1))})})}},
		{"empty literal object", `{"a":{}}`, bson.D{e("a", bson.D{})}},
		{"comparisons", `{"a":{"$eq":1,"$ne":2,"$gt":3,"$gte":4,"$lt":5,"$lte":6}}`,
			bson.D{e("a", bson.D{e("$eq", int64(1)), e("$ne", int64(2)), e("$gt", int64(3)),
				e("$gte", int64(4)), e("$lt", int64(5)), e("$lte", int64(6))})}},
		{"comparison with literal object", `{"a":{"$eq":{"b":[1]}}}`, bson.D{e("a", bson.D{e("$eq", bson.D{e("b", bson.A{int64(1)})})})}},
		{"empty $in", `{"a":{"$in":[]}}`, bson.D{e("a", bson.D{e("$in", bson.A{})})}},
		{"$nin", `{"a":{"$nin":[1,"x",null,{"b":1}]}}`, bson.D{e("a", bson.D{e("$nin", bson.A{int64(1), "x", nil, bson.D{e("b", int64(1))}})})}},
		{"$exists", `{"a":{"$exists":false}}`, bson.D{e("a", bson.D{e("$exists", false)})}},
		{"$regex with $options", `{"a":{"$regex":"^ab+c$","$options":"imsx"}}`, bson.D{e("a", bson.D{e("$regex", "^ab+c$"), e("$options", "imsx")})}},
		{"$options before $regex", `{"a":{"$options":"i","$regex":"x"}}`, bson.D{e("a", bson.D{e("$options", "i"), e("$regex", "x")})}},
		{"empty $options", `{"a":{"$regex":"x","$options":""}}`, bson.D{e("a", bson.D{e("$regex", "x"), e("$options", "")})}},
		{"$not with $regex", `{"a":{"$not":{"$regex":"x","$options":"i"}}}`, bson.D{e("a", bson.D{e("$not", bson.D{e("$regex", "x"), e("$options", "i")})})}},
		{"$not with comparisons", `{"a":{"$not":{"$gt":1,"$lt":2}}}`, bson.D{e("a", bson.D{e("$not", bson.D{e("$gt", int64(1)), e("$lt", int64(2))})})}},
		{"$and and $or", `{"$and":[{"a":1},{"$or":[{"b":2},{"c":{"$exists":true}}]}]}`,
			bson.D{e("$and", bson.A{bson.D{e("a", int64(1))}, bson.D{e("$or", bson.A{bson.D{e("b", int64(2))}, bson.D{e("c", bson.D{e("$exists", true)})}})}})}},
		{"$or of an empty filter", `{"$or":[{}]}`, bson.D{e("$or", bson.A{bson.D{}})}},
		{"field names with symbols", `{"a-b":1,"a b":2,"a.0.c":3,"é":4,"a$":5}`,
			bson.D{e("a-b", int64(1)), e("a b", int64(2)), e("a.0.c", int64(3)), e("é", int64(4)), e("a$", int64(5))}},
		{"_id string becomes ObjectID", `{"_id":"` + hexID + `"}`, bson.D{e("_id", id)}},
		{"upper-case _id becomes ObjectID", `{"_id":"` + strings.ToUpper(hexID) + `"}`, bson.D{e("_id", id)}},
		{"_id in comparisons", `{"_id":{"$gt":"` + hexID + `","$lte":"x"}}`, bson.D{e("_id", bson.D{e("$gt", id), e("$lte", "x")})}},
		{"_id in $in", `{"_id":{"$in":["` + hexID + `","nothex",1]}}`, bson.D{e("_id", bson.D{e("$in", bson.A{id, "nothex", int64(1)})})}},
		{"_id in $nin", `{"_id":{"$nin":["` + hexID + `"]}}`, bson.D{e("_id", bson.D{e("$nin", bson.A{id})})}},
		{"_id in $not", `{"_id":{"$not":{"$eq":"` + hexID + `"}}}`, bson.D{e("_id", bson.D{e("$not", bson.D{e("$eq", id)})})}},
		{"_id in $or", `{"$or":[{"_id":"` + hexID + `"}]}`, bson.D{e("$or", bson.A{bson.D{e("_id", id)}})}},
		{"short hex _id stays a string", `{"_id":"` + hexID[1:] + `"}`, bson.D{e("_id", hexID[1:])}},
		{"non-hex _id stays a string", `{"_id":"zf1e2d3c4b5a69788796a5b4"}`, bson.D{e("_id", "zf1e2d3c4b5a69788796a5b4")}},
		{"other fields keep hex strings", `{"ref":"` + hexID + `","a._id":"` + hexID + `"}`, bson.D{e("ref", hexID), e("a._id", hexID)}},
		{"_id literal array keeps strings", `{"_id":["` + hexID + `"]}`, bson.D{e("_id", bson.A{hexID})}},
		{"_id $regex keeps its string", `{"_id":{"$regex":"` + hexID + `"}}`, bson.D{e("_id", bson.D{e("$regex", hexID)})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%s) error: %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%s) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseRejectsOperators(t *testing.T) {
	forbidden := []string{"$where", "$expr", "$function", "$jsonSchema", "$text", "$elemMatch", "$nor",
		"$size", "$type", "$mod", "$all", "$comment", "$accumulator", "$foo", "$", "$geoWithin", "$near"}
	for _, op := range forbidden {
		placements := map[string]string{
			"top level":      `{"%s":1}`,
			"field operator": `{"a":{"%s":1}}`,
			"inside $and":    `{"$and":[{"%s":1}]}`,
			"inside $or":     `{"$or":[{"a":1},{"b":{"%s":1}}]}`,
			"inside $not":    `{"a":{"$not":{"%s":1}}}`,
			"inside a value": `{"a":{"b":{"%s":1}}}`,
			"inside $in":     `{"a":{"$in":[{"%s":1}]}}`,
			"inside $eq":     `{"a":{"$eq":{"%s":1}}}`,
			"inside array":   `{"a":[1,{"%s":1}]}`,
		}
		for where, format := range placements {
			in := fmt.Sprintf(format, op)
			t.Run(op+" "+where, func(t *testing.T) {
				wantRejected(t, in, fmt.Sprintf("operator %q is not allowed", op))
			})
		}
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
		msg  string
	}{
		{"invalid JSON", `{"a":}`, "filter: invalid JSON at byte 6"},
		{"not an object", `[{"a":1}]`, "top level must be a JSON object"},
		{"trailing data", `{"a":1} 2`, "unexpected data after the JSON object"},
		{"duplicate key", `{"a":1,"a":2}`, `duplicate key "a"`},
		{"field operator at top level", `{"$gt":1}`, `operator "$gt" must be applied to a field`},
		{"$regex at top level", `{"$regex":"x"}`, `operator "$regex" must be applied to a field`},
		{"field operator in $and", `{"$and":[{"$exists":true}]}`, `operator "$exists" must be applied to a field`},
		{"$and on a field", `{"a":{"$and":[{}]}}`, `operator "$and" cannot be applied to a field`},
		{"$or on a field", `{"a":{"$or":[{}]}}`, `operator "$or" cannot be applied to a field`},
		{"$and not an array", `{"$and":{"a":1}}`, `"$and" needs a non-empty array of filter objects`},
		{"$or empty", `{"$or":[]}`, `"$or" needs a non-empty array of filter objects`},
		{"$or of a scalar", `{"$or":[{"a":1},2]}`, `every element of "$or" must be a filter object`},
		{"$and of an array", `{"$and":[[]]}`, `every element of "$and" must be a filter object`},
		{"empty field name", `{"":1}`, "field name must not be empty"},
		{"empty middle part", `{"a..b":1}`, `field name "a..b" has an empty part between dots`},
		{"leading dot", `{".a":1}`, `field name ".a" has an empty part between dots`},
		{"trailing dot", `{"a.":1}`, `field name "a." has an empty part between dots`},
		{"dollar part", `{"a.$b":1}`, `field name "a.$b" has a part starting with "$"`},
		{"positional part", `{"a.$":1}`, `field name "a.$" has a part starting with "$"`},
		{"field name too long", `{"` + strings.Repeat("a", 257) + `":1}`, "field name is longer than 256 bytes"},
		{"operator then field", `{"a":{"$gt":1,"b":2}}`, `the value of field "a" mixes operators and field names`},
		{"field then operator", `{"a":{"b":2,"$gt":1}}`, `the value of field "a" mixes operators and field names`},
		{"operator nested in a value", `{"a":{"b":{"$gt":1}}}`, `operator "$gt" is not allowed inside a value to match`},
		{"operator as $eq value", `{"a":{"$eq":{"$exists":true}}}`, `operator "$exists" is not allowed inside a value to match`},
		{"$in of a scalar", `{"a":{"$in":1}}`, `"$in" needs an array of values`},
		{"$nin of an object", `{"a":{"$nin":{"b":1}}}`, `"$nin" needs an array of values`},
		{"$in with an operator", `{"a":{"$in":[{"$gt":1}]}}`, `operator "$gt" is not allowed inside a value to match`},
		{"$exists of a number", `{"a":{"$exists":1}}`, `"$exists" needs true or false`},
		{"$exists of a string", `{"a":{"$exists":"true"}}`, `"$exists" needs true or false`},
		{"$regex of a number", `{"a":{"$regex":1}}`, `"$regex" needs a string pattern`},
		{"$regex that does not compile", `{"a":{"$regex":"(a"}}`, `"$regex" pattern is not valid: error parsing regexp: missing closing )`},
		{"$regex with lookahead", `{"a":{"$regex":"a(?=b)"}}`, `"$regex" pattern is not valid`},
		{"$regex too long", `{"a":{"$regex":"` + strings.Repeat("a", 513) + `"}}`, `"$regex" pattern is longer than 512 bytes`},
		{"$regex with NUL", `{"a":{"$regex":"a\u0000"}}`, `"$regex" pattern contains a NUL character`},
		{"$options alone", `{"a":{"$options":"i"}}`, `"$options" can only be used together with "$regex"`},
		{"$options with another operator", `{"a":{"$eq":"x","$options":"i"}}`, `"$options" can only be used together with "$regex"`},
		{"$options alone in $not", `{"a":{"$not":{"$options":"i"}}}`, `"$options" can only be used together with "$regex"`},
		{"$options unknown flag", `{"a":{"$regex":"x","$options":"ig"}}`, `"$options" may only contain the flags i, m, s and x`},
		{"$options repeated flag", `{"a":{"$regex":"x","$options":"imi"}}`, `"$options" may only contain the flags i, m, s and x, each at most once`},
		{"$options not a string", `{"a":{"$regex":"x","$options":1}}`, `"$options" needs a string of flags`},
		{"$not inside $not", `{"a":{"$not":{"$not":{"$gt":1}}}}`, `"$not" cannot be used inside "$not"`},
		{"$not of a scalar", `{"a":{"$not":1}}`, `"$not" needs an operator object`},
		{"$not of a string", `{"a":{"$not":"x"}}`, `"$not" needs an operator object`},
		{"$not of an empty object", `{"a":{"$not":{}}}`, `"$not" needs an operator object`},
		{"$not of a literal object", `{"a":{"$not":{"b":1}}}`, `"$not" needs an operator object`},
		{"$not mixing", `{"a":{"$not":{"$gt":1,"b":1}}}`, `the value of field "a" mixes operators and field names`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRejected(t, tt.in, tt.msg)
		})
	}
}

func TestParseCaps(t *testing.T) {
	t.Run("size", func(t *testing.T) {
		wantAccepted(t, `{"a":"`+strings.Repeat("x", maxFilterBytes-8)+`"}`)
		wantRejected(t, `{"a":"`+strings.Repeat("x", maxFilterBytes-7)+`"}`, "filter is larger than 8192 bytes")
	})
	t.Run("depth", func(t *testing.T) {
		wantAccepted(t, `{"a":`+strings.Repeat("[", 7)+"1"+strings.Repeat("]", 7)+`}`)
		wantRejected(t, `{"a":`+strings.Repeat("[", 8)+"1"+strings.Repeat("]", 8)+`}`, "nested deeper than 8 levels")
		wantAccepted(t, `{"$and":[{"$or":[{"a":{"$not":{"$in":[1]}}}]}]}`)
		wantRejected(t, `{"$and":[{"$or":[{"a":{"$not":{"$in":[[1]]}}}]}]}`, "nested deeper than 8 levels")
	})
	t.Run("nodes as keys", func(t *testing.T) {
		wantAccepted(t, keys(256))
		wantRejected(t, keys(257), "filter has more than 256 keys and array elements")
	})
	t.Run("nodes as array elements", func(t *testing.T) {
		// The field and the operator count as two nodes.
		wantAccepted(t, `{"a":{"$in":[`+list(254)+`]}}`)
		wantRejected(t, `{"a":{"$in":[`+list(255)+`]}}`, "filter has more than 256 keys and array elements")
		wantRejected(t, `{"a":[`+list(256)+`]}`, "filter has more than 256 keys and array elements")
	})
	t.Run("path length", func(t *testing.T) {
		wantAccepted(t, `{"`+strings.Repeat("a", 256)+`":1}`)
	})
	t.Run("regex length", func(t *testing.T) {
		wantAccepted(t, `{"a":{"$regex":"`+strings.Repeat("a", 512)+`"}}`)
	})
}

func TestValidate(t *testing.T) {
	id := mustID(t, hexID)
	t.Run("converts without modifying its input", func(t *testing.T) {
		in := bson.D{e("_id", bson.D{e("$in", bson.A{hexID})})}
		got, err := Validate(in)
		if err != nil {
			t.Fatal(err)
		}
		if want := (bson.D{e("_id", bson.D{e("$in", bson.A{id})})}); !reflect.DeepEqual(got, want) {
			t.Errorf("Validate = %#v, want %#v", got, want)
		}
		if in[0].Value.(bson.D)[0].Value.(bson.A)[0] != hexID {
			t.Errorf("Validate modified its input: %#v", in)
		}
	})
	t.Run("accepts its own output", func(t *testing.T) {
		in := bson.D{e("_id", id), e("a", int32(1)), e("b", 2)}
		if _, err := Validate(in); err != nil {
			t.Errorf("Validate(%v) error: %v", in, err)
		}
	})
	t.Run("nil document", func(t *testing.T) {
		got, err := Validate(nil)
		if err != nil || len(got) != 0 {
			t.Errorf("Validate(nil) = %v, %v; want an empty filter", got, err)
		}
	})
	rejects := []struct {
		name string
		in   bson.D
		msg  string
	}{
		{"NUL in a field name", bson.D{e("a\x00b", 1)}, `field name "a\x00b" contains a NUL character`},
		{"unsupported literal type", bson.D{e("a", bson.M{"$where": "x"})}, "filter values of type bson.M are not supported"},
		{"unsupported $in element", bson.D{e("a", bson.D{e("$in", bson.A{bson.Regex{Pattern: "x"}})})}, "filter values of type bson.Regex are not supported"},
		{"$and of a Go slice", bson.D{e("$and", []any{bson.D{}})}, `"$and" needs a non-empty array of filter objects`},
		{"depth beyond what JSON decoding allows", bson.D{e("a", deepArray(8))}, "filter nests objects and arrays deeper than 8 levels"},
		{"depth in a literal object", bson.D{e("a", deepDoc(8))}, "filter nests objects and arrays deeper than 8 levels"},
	}
	for _, tt := range rejects {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Validate(tt.in)
			checkError(t, fmt.Sprintf("%#v", tt.in), got, err, tt.msg)
		})
	}
	t.Run("depth at the cap", func(t *testing.T) {
		if _, err := Validate(bson.D{e("a", deepArray(7))}); err != nil {
			t.Errorf("Validate error: %v", err)
		}
		if _, err := Validate(bson.D{e("a", deepDoc(7))}); err != nil {
			t.Errorf("Validate error: %v", err)
		}
	})
}

func wantAccepted(t *testing.T, in string) {
	t.Helper()
	if _, err := Parse(in); err != nil {
		t.Errorf("Parse(%.80s) error: %v", in, err)
	}
}

func wantRejected(t *testing.T, in, msg string) {
	t.Helper()
	got, err := Parse(in)
	checkError(t, in, got, err, msg)
}

func checkError(t *testing.T, in string, got bson.D, err error, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%.80s was accepted as %v, want an error containing %q", in, got, msg)
	}
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is a %T, want *Error", err, err)
	}
	if !strings.Contains(fe.Msg, msg) {
		t.Errorf("%.80s: error %q does not contain %q", in, fe.Msg, msg)
	}
}

// keys returns a filter with n fields.
func keys(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`"f%d":1`, i)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// list returns n comma-separated numbers.
func list(n int) string {
	return strings.TrimSuffix(strings.Repeat("1,", n), ",")
}

// deepArray returns n nested arrays around the number 1.
func deepArray(n int) any {
	var v any = int64(1)
	for range n {
		v = bson.A{v}
	}
	return v
}

// deepDoc returns n nested literal objects around the number 1.
func deepDoc(n int) any {
	var v any = int64(1)
	for range n {
		v = bson.D{e("x", v)}
	}
	return v
}
