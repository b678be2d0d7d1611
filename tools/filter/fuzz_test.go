package filter

import (
	"errors"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// allowed is the test's own copy of the operator allow-list, so that a change to the code's
// list cannot silently widen what the fuzz property accepts.
var allowed = map[string]bool{
	"$eq": true, "$ne": true, "$gt": true, "$gte": true, "$lt": true, "$lte": true,
	"$in": true, "$nin": true, "$exists": true, "$and": true, "$or": true, "$not": true,
	"$regex": true, "$options": true,
}

// FuzzParse checks that Parse never panics, that its errors are *Error, and that every
// filter it accepts contains no "$" key outside the allow-list.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		``,
		`{"a":{"$gt":1}}`,
		`{"$or":[{"a":1},{"b":{"$in":[1,2]}}]}`,
		`{"_id":{"$in":["5f1e2d3c4b5a69788796a5b4"]}}`,
		`{"a":{"$not":{"$regex":"^x","$options":"i"}}}`,
		`{"$where":"sleep(1000)"}`,
		`{"a":{"b":{"$where":"1"}}}`,
		`{"a":{"$gt":1,"b":2}}`,
		`{"a":{"$regex":"(?i)a+"}}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		doc, err := Parse(raw)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is a %T, want *Error", err, err)
			}
			return
		}
		if key, ok := disallowedKey(doc); ok {
			t.Fatalf("Parse(%q) accepted %q: %#v", raw, key, doc)
		}
	})
}

// disallowedKey walks a value and returns the first "$" key outside the allow-list.
func disallowedKey(v any) (string, bool) {
	switch t := v.(type) {
	case bson.D:
		for _, e := range t {
			if strings.HasPrefix(e.Key, "$") && !allowed[e.Key] {
				return e.Key, true
			}
			if key, ok := disallowedKey(e.Value); ok {
				return key, true
			}
		}
	case bson.A:
		for _, el := range t {
			if key, ok := disallowedKey(el); ok {
				return key, true
			}
		}
	}
	return "", false
}

// FuzzParseSort checks that ParseSort never panics, that its errors are *Error, and that
// what it accepts is a short list of distinct, valid field paths with directions 1 or -1.
func FuzzParseSort(f *testing.F) {
	for _, seed := range []string{"", "a", "-a,b", "+a , -b.c", "a,,b", "-", "a,-a", "$natural", "a.$", "a,b,c,d,e,f,g,h,i"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		sort, err := ParseSort(raw)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is a %T, want *Error", err, err)
			}
			return
		}
		if len(sort) > maxSortFields {
			t.Fatalf("ParseSort(%q) returned %d fields", raw, len(sort))
		}
		seen := map[string]bool{}
		for _, e := range sort {
			if err := checkPath(e.Key); err != nil {
				t.Fatalf("ParseSort(%q) returned field %q: %v", raw, e.Key, err)
			}
			if seen[e.Key] {
				t.Fatalf("ParseSort(%q) returned field %q twice", raw, e.Key)
			}
			seen[e.Key] = true
			if e.Value != 1 && e.Value != -1 {
				t.Fatalf("ParseSort(%q) returned direction %v", raw, e.Value)
			}
		}
	})
}
