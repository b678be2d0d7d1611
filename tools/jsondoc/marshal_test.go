package jsondoc

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestMarshal(t *testing.T) {
	oid, err := bson.ObjectIDFromHex("5f1e2d3c4b5a69788796a5b4")
	if err != nil {
		t.Fatal(err)
	}
	dec, err := bson.ParseDecimal128("12.50")
	if err != nil {
		t.Fatal(err)
	}
	when := time.Date(2024, 2, 29, 13, 4, 5, 678_900_000, time.FixedZone("X", 3600))

	tests := []struct {
		name string
		in   any
		want string
	}{
		{"nil", nil, `null`},
		{"bson.Null", bson.Null{}, `null`},
		{"bson.Undefined", bson.Undefined{}, `null`},
		{"bson.D keeps order", bson.D{{Key: "b", Value: 1}, {Key: "a", Value: 2}}, `{"b":1,"a":2}`},
		{"empty bson.D", bson.D{}, `{}`},
		{"bson.M sorts keys", bson.M{"b": 1, "a": 2, "c": bson.M{"z": 1, "y": 2}}, `{"a":2,"b":1,"c":{"y":2,"z":1}}`},
		{"map sorts keys", map[string]any{"b": true, "a": false}, `{"a":false,"b":true}`},
		{"bson.A", bson.A{1, "x", nil}, `[1,"x",null]`},
		{"empty bson.A", bson.A{}, `[]`},
		{"[]any", []any{int32(1), bson.A{}}, `[1,[]]`},
		{"[]bson.D", []bson.D{{{Key: "a", Value: 1}}, {}}, `[{"a":1},{}]`},
		{"[]bson.M", []bson.M{{"a": 1}}, `[{"a":1}]`},
		{"string", "hé", `"hé"`},
		{"html is not escaped", "<a href='x'>&</a>", `"<a href='x'>&</a>"`},
		{"escapes", "q\"b\\n\nr\rt\tc\x01\x1f", `"q\"b\\n\nr\rt\tc\u0001\u001f"`},
		{"line separators", "a\u2028b\u2029", `"a\u2028b\u2029"`},
		{"invalid UTF-8", "a\xffb\xc3", `"a\ufffdb\ufffd"`},
		{"true", true, `true`},
		{"false", false, `false`},
		{"int", -7, `-7`},
		{"int32", int32(math.MinInt32), `-2147483648`},
		{"int64", int64(9007199254740993), `9007199254740993`},
		{"float", 1.5, `1.5`},
		{"whole float", 3.0, `3.0`},
		{"negative zero float", math.Copysign(0, -1), `-0.0`},
		{"large float", 1e21, `1e+21`},
		{"small float", 1e-7, `1e-07`},
		{"NaN", math.NaN(), `null`},
		{"+Inf", math.Inf(1), `null`},
		{"-Inf", math.Inf(-1), `null`},
		{"ObjectID", oid, `"5f1e2d3c4b5a69788796a5b4"`},
		{"DateTime", bson.NewDateTimeFromTime(when), `"2024-02-29T12:04:05.678Z"`},
		{"DateTime before 1970", bson.DateTime(-1), `"1969-12-31T23:59:59.999Z"`},
		{"time.Time", when, `"2024-02-29T12:04:05.678Z"`},
		{"Binary", bson.Binary{Subtype: 0, Data: []byte("hi!")}, `"aGkh"`},
		{"Decimal128", dec, `"12.50"`},
		{"Regex", bson.Regex{Pattern: "^a\"", Options: "i"}, `{"$regex":"^a\"","$options":"i"}`},
		{"Timestamp", bson.Timestamp{T: 1700000000, I: 3}, `1700000000`},
		{"JavaScript falls back to its string", bson.JavaScript("x<1"), `"x<1"`},
		{"other Go types are written as encoding/json writes them", uint8(5), `5`},
		{"MinKey falls back to %v", bson.MinKey{}, `"{}"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.in)
			if err != nil {
				t.Fatalf("Marshal(%#v) error: %v", tt.in, err)
			}
			if string(got) != tt.want {
				t.Errorf("Marshal(%#v) = %s, want %s", tt.in, got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("Marshal(%#v) = %s, which is not valid JSON", tt.in, got)
			}
		})
	}
}

func TestMarshalRejectsCycles(t *testing.T) {
	cycle := []any{nil}
	cycle[0] = cycle
	if _, err := Marshal(cycle); err == nil || !strings.Contains(err.Error(), "nested deeper than") {
		t.Errorf("Marshal(cycle) error = %v, want a nesting error", err)
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []string{
		`{}`,
		`{"z":1,"a":{"y":[1,2.5,"s",null,true,false],"b":9007199254740993},"m":-9223372036854775808}`,
		`{"float":3.0,"exp":1e+21,"neg":-0.5,"tiny":5e-324}`,
		`{"text":"<&> \"q\" \\ \n é 😀 \u2028","":"empty key"}`,
		`{"deep":[[[[{"a":[{}]}]]]]}`,
	}
	for _, in := range tests {
		doc, err := DecodeObject([]byte(in), Limits{})
		if err != nil {
			t.Fatalf("DecodeObject(%s) error: %v", in, err)
		}
		out, err := Marshal(doc)
		if err != nil {
			t.Fatalf("Marshal error: %v", err)
		}
		if string(out) != in {
			t.Errorf("round trip of %s gave %s", in, out)
		}
	}
}

func TestMarshalFallsBackToEncodingJSON(t *testing.T) {
	type info struct {
		Name string `json:"name"`
		N    int    `json:"n,omitempty"`
	}
	got, err := Marshal(bson.D{{Key: "response", Value: info{Name: "cars"}}})
	if err != nil || string(got) != `{"response":{"name":"cars"}}` {
		t.Fatalf("Marshal = %s, %v", got, err)
	}
	if _, err := Marshal(bson.D{{Key: "f", Value: func() {}}}); err == nil {
		t.Fatal("an unencodable value was accepted")
	}
}
