package jsondoc

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestDecodeObjectAccepts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		lim  Limits
		want bson.D
	}{
		{"empty object", `{}`, Limits{}, bson.D{}},
		{"surrounding whitespace", " \n\t{\"a\":1}\r\n ", Limits{}, bson.D{{Key: "a", Value: int64(1)}}},
		{"key order kept", `{"b":1,"a":2,"c":3}`, Limits{}, bson.D{
			{Key: "b", Value: int64(1)}, {Key: "a", Value: int64(2)}, {Key: "c", Value: int64(3)},
		}},
		{"scalars", `{"s":"x","t":true,"f":false,"n":null}`, Limits{}, bson.D{
			{Key: "s", Value: "x"}, {Key: "t", Value: true}, {Key: "f", Value: false}, {Key: "n", Value: nil},
		}},
		{"nested", `{"o":{"a":[1,"x",{"b":null},[]]}}`, Limits{}, bson.D{
			{Key: "o", Value: bson.D{{Key: "a", Value: bson.A{int64(1), "x", bson.D{{Key: "b", Value: nil}}, bson.A{}}}}},
		}},
		{"same key in different objects", `{"a":{"a":1}}`, Limits{}, bson.D{
			{Key: "a", Value: bson.D{{Key: "a", Value: int64(1)}}},
		}},
		{"integer beyond float precision", `{"n":9007199254740993}`, Limits{}, bson.D{{Key: "n", Value: int64(9007199254740993)}}},
		{"int64 max", `{"n":9223372036854775807}`, Limits{}, bson.D{{Key: "n", Value: int64(math.MaxInt64)}}},
		{"int64 min", `{"n":-9223372036854775808}`, Limits{}, bson.D{{Key: "n", Value: int64(math.MinInt64)}}},
		{"integer beyond int64", `{"n":9223372036854775808}`, Limits{}, bson.D{{Key: "n", Value: 9223372036854775808.0}}},
		{"negative zero", `{"n":-0}`, Limits{}, bson.D{{Key: "n", Value: int64(0)}}},
		{"fraction", `{"n":1.5}`, Limits{}, bson.D{{Key: "n", Value: 1.5}}},
		{"exponent is a float", `{"n":1e2}`, Limits{}, bson.D{{Key: "n", Value: 100.0}}},
		{"whole fraction is a float", `{"n":2.0}`, Limits{}, bson.D{{Key: "n", Value: 2.0}}},
		{"underflow becomes zero", `{"n":1e-400}`, Limits{}, bson.D{{Key: "n", Value: 0.0}}},
		{"unicode escapes", `{"s":"\u00e9\ud83d\ude00<&>"}`, Limits{}, bson.D{{Key: "s", Value: "é😀<&>"}}},
		{"escaped NUL in a value", `{"s":"a\u0000b"}`, Limits{}, bson.D{{Key: "s", Value: "a\x00b"}}},
		{"depth at the limit", `{"a":{"b":[1]}}`, Limits{MaxDepth: 3}, bson.D{
			{Key: "a", Value: bson.D{{Key: "b", Value: bson.A{int64(1)}}}},
		}},
		{"size at the limit", `{"a":1}`, Limits{MaxBytes: 7}, bson.D{{Key: "a", Value: int64(1)}}},
		{"default depth", nested(32), Limits{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeObject([]byte(tt.in), tt.lim)
			if err != nil {
				t.Fatalf("DecodeObject(%q) error: %v", tt.in, err)
			}
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DecodeObject(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestDecodeObjectRejects(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		lim    Limits
		offset int64
		msg    string
	}{
		{"empty input", ``, Limits{}, 0, "unexpected end of JSON input"},
		{"only whitespace", `   `, Limits{}, 3, "unexpected end of JSON input"},
		{"truncated", `{"a":1`, Limits{}, 6, "unexpected end of JSON input"},
		{"array at top level", `[1]`, Limits{}, 1, "top level must be a JSON object"},
		{"string at top level", `  "x"`, Limits{}, 3, "top level must be a JSON object"},
		{"number at top level", `1`, Limits{}, 1, "top level must be a JSON object"},
		{"null at top level", `null`, Limits{}, 1, "top level must be a JSON object"},
		{"data after the object", `{"a":1} x`, Limits{}, 9, "unexpected data after the JSON object"},
		{"second object", `{"a":1}{}`, Limits{}, 8, "unexpected data after the JSON object"},
		{"duplicate key", `{"a":1,"a":2}`, Limits{}, 10, `duplicate key "a"`},
		{"nested duplicate key", `{"x":{"a":1,"a":2}}`, Limits{}, 15, `duplicate key "a"`},
		{"escaped duplicate key", `{"a":1,"\u0061":2}`, Limits{}, 15, `duplicate key "a"`},
		{"NUL in key", `{"a\u0000":1}`, Limits{}, 10, "contains a NUL character"},
		{"bad literal", `{"a": tru}`, Limits{}, 10, "invalid character '}' in literal true"},
		{"bad number", `{"a":-}`, Limits{}, 7, "in numeric literal"},
		{"leading zero", `{"a":01}`, Limits{}, 7, "invalid character '1'"},
		{"NaN literal", `{"a":NaN}`, Limits{}, 6, "invalid character 'N'"},
		{"trailing comma", `{"a":1,}`, Limits{}, 8, "looking for beginning of object key"},
		{"missing colon", `{"a" 1}`, Limits{}, 6, "after object key"},
		{"missing comma", `{"a":[1 2]}`, Limits{}, 9, "after array element"},
		{"single quotes", `{'a':1}`, Limits{}, 2, "invalid character '\\''"},
		{"raw control character", "{\"a\":\"x\ny\"}", Limits{}, 8, "invalid character '\\n' in string literal"},
		{"float overflow", `{"a":1e400}`, Limits{}, 10, "number is too large"},
		{"negative float overflow", `{"a":[-1e400]}`, Limits{}, 12, "number is too large"},
		{"huge integer literal overflow", `{"a":1` + strings.Repeat("0", 400) + `}`, Limits{}, 406, "number is too large"},
		{"invalid UTF-8 in value", "{\"a\":\"\xff\"}", Limits{}, 7, "invalid UTF-8"},
		{"invalid UTF-8 in key", "{\"\xc3\":1}", Limits{}, 3, "invalid UTF-8"},
		{"too deep", `{"a":{"b":[[1]]}}`, Limits{MaxDepth: 3}, 12, "nested deeper than 3 levels"},
		{"too deep by default", nested(33), Limits{}, 161, "nested deeper than 32 levels"},
		{"too large", `{"a":12}`, Limits{MaxBytes: 7}, 8, "larger than 7 bytes"},
		{"too large by default", `{"a":"` + strings.Repeat("x", 1<<20) + `"}`, Limits{}, 1<<20 + 1, "larger than 1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeObject([]byte(tt.in), tt.lim)
			if err == nil {
				t.Fatalf("DecodeObject(%q) = %v, want an error", tt.in, got)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is a %T, want *Error", err, err)
			}
			if e.Offset != tt.offset || !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("error = {%d, %q}, want offset %d and a message containing %q", e.Offset, e.Msg, tt.offset, tt.msg)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	_, err := DecodeObject([]byte(`{"a":1,"a":2}`), Limits{})
	want := `invalid JSON at byte 10: duplicate key "a"`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

// nested returns an object whose innermost value sits depth levels of objects deep.
func nested(depth int) string {
	return strings.Repeat(`{"a":`, depth-1) + `{}` + strings.Repeat(`}`, depth-1)
}
