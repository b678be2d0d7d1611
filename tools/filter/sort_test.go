package filter

import (
	"reflect"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestParseSort(t *testing.T) {
	accepts := []struct {
		in   string
		want bson.D
	}{
		{"", nil},
		{"  ", nil},
		{"a", bson.D{e("a", 1)}},
		{"-a,b", bson.D{e("a", -1), e("b", 1)}},
		{"+a,-b.c", bson.D{e("a", 1), e("b.c", -1)}},
		{" a , -b ", bson.D{e("a", 1), e("b", -1)}},
		{"--a", bson.D{e("-a", -1)}},
		{"a,b,c,d,e,f,g,-h", bson.D{e("a", 1), e("b", 1), e("c", 1), e("d", 1), e("e", 1), e("f", 1), e("g", 1), e("h", -1)}},
	}
	for _, tt := range accepts {
		got, err := ParseSort(tt.in)
		if err != nil {
			t.Errorf("ParseSort(%q) error: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseSort(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}

	rejects := []struct {
		in  string
		msg string
	}{
		{"a,,b", "sort: empty item"},
		{"a,", "sort: empty item"},
		{",a", "sort: empty item"},
		{"-", "sort: field name must not be empty"},
		{"+", "sort: field name must not be empty"},
		{"a,-a", `sort: field "a" is listed more than once`},
		{"a,+a", `sort: field "a" is listed more than once`},
		{"$a", `sort: field name "$a" must not start with "$"`},
		{"-$natural", `sort: field name "$natural" must not start with "$"`},
		{"a.$", `sort: field name "a.$" has a part starting with "$"`},
		{"a..b", `sort: field name "a..b" has an empty part between dots`},
		{".a", `sort: field name ".a" has an empty part between dots`},
		{"a.", `sort: field name "a." has an empty part between dots`},
		{"a\x00", `sort: field name "a\x00" contains a NUL character`},
		{strings.Repeat("a", 257), "sort: field name is longer than 256 bytes"},
		{"a,b,c,d,e,f,g,h,i", "sort: more than 8 fields"},
	}
	for _, tt := range rejects {
		got, err := ParseSort(tt.in)
		checkError(t, tt.in, got, err, tt.msg)
	}
}

func TestParseFields(t *testing.T) {
	accepts := []struct {
		in   string
		want bson.D
	}{
		{"", nil},
		{" ", nil},
		{"a", bson.D{e("a", 1)}},
		{"a,b.c", bson.D{e("a", 1), e("b.c", 1)}},
		{" a ,\tb ", bson.D{e("a", 1), e("b", 1)}},
		{"a.b,a.c,ab", bson.D{e("a.b", 1), e("a.c", 1), e("ab", 1)}},
		{"_id,name", bson.D{e("_id", 1), e("name", 1)}},
	}
	for _, tt := range accepts {
		got, err := ParseFields(tt.in)
		if err != nil {
			t.Errorf("ParseFields(%q) error: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseFields(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
	if _, err := ParseFields(list64()); err != nil {
		t.Errorf("ParseFields of 64 fields error: %v", err)
	}

	rejects := []struct {
		in  string
		msg string
	}{
		{"a,,b", "fields: empty item"},
		{"a, ", "fields: empty item"},
		{"a,a", `fields: field "a" is listed more than once`},
		{"a, a", `fields: field "a" is listed more than once`},
		{"a,a.b", `fields: "a" and "a.b" overlap`},
		{"a.b.c,a.b", `fields: "a.b.c" and "a.b" overlap`},
		{"$a", `fields: field name "$a" must not start with "$"`},
		{"a.$", `fields: field name "a.$" has a part starting with "$"`},
		{"a..b", `fields: field name "a..b" has an empty part between dots`},
		{strings.Repeat("a", 257), "fields: field name is longer than 256 bytes"},
		{list64() + ",z", "fields: more than 64 fields"},
	}
	for _, tt := range rejects {
		got, err := ParseFields(tt.in)
		checkError(t, tt.in, got, err, tt.msg)
	}
}

// list64 returns 64 distinct field names.
func list64() string {
	names := make([]string, 64)
	for i := range names {
		names[i] = "f" + strings.Repeat("x", i)
	}
	return strings.Join(names, ",")
}
