package filter

import (
	"fmt"
	"strings"
	"testing"
)

// benchInFilter is an $and/$or filter whose $in lists 20 ids, like a client fetching a page of
// related records.
func benchInFilter() string {
	ids := make([]string, 20)
	for i := range ids {
		ids[i] = fmt.Sprintf("%q", fmt.Sprintf("5f1e2d3c4b5a69788796a5%02x", i))
	}
	return `{"$and":[{"status":{"$in":[` + strings.Join(ids, ",") + `]}},` +
		`{"$or":[{"price":{"$gte":10,"$lt":250.5}},{"tags":{"$exists":true}},{"owner.name":"Ann"}]}]}`
}

func BenchmarkParse(b *testing.B) {
	filters := []struct {
		name string
		raw  string
	}{
		{"equality", `{"status":"active"}`},
		{"and-or-in20", benchInFilter()},
		{"regex", `{"title":{"$regex":"^red (car|bike)s?$","$options":"i"},"archived":false}`},
	}
	for _, f := range filters {
		if _, err := Parse(f.raw); err != nil {
			b.Fatalf("%s: %v", f.name, err)
		}
		b.Run(f.name, func(b *testing.B) {
			b.SetBytes(int64(len(f.raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(f.raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseSort(b *testing.B) {
	const raw = "-createdAt,+price,owner.name, title"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseSort(raw); err != nil {
			b.Fatal(err)
		}
	}
}
