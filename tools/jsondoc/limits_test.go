package jsondoc

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// wideObject is {"k0":0,"k1":0,…} with n members.
func wideObject(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = `"k` + strconv.Itoa(i) + `":0`
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// longArray is {"a":[0,0,…]} with n elements: n+1 values.
func longArray(n int) string {
	return `{"a":[` + strings.TrimSuffix(strings.Repeat("0,", n), ",") + `]}`
}

func TestComplexityLimits(t *testing.T) {
	lim := Limits{MaxKeys: 10, MaxNodes: 20}
	for _, tc := range []struct {
		name  string
		in    string
		limit string // "" when accepted
	}{
		{"keys at the limit", wideObject(10), ""},
		{"keys over the limit", wideObject(11), LimitKeys},
		{"keys over the limit in a nested object", `{"o":` + wideObject(11) + `}`, LimitKeys},
		{"nodes at the limit", longArray(19), ""},
		{"nodes over the limit", longArray(20), LimitNodes},
		{"nested containers count", `{"a":` + strings.Repeat("[", 21) + strings.Repeat("]", 21) + `}`, LimitNodes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := DecodeObject([]byte(tc.in), lim)
			var e *Error
			if tc.limit == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if err := CheckComplexity(doc, lim); err != nil {
					t.Fatalf("CheckComplexity refused what DecodeObject accepted: %v", err)
				}
				return
			}
			if !errors.As(err, &e) || e.Limit != tc.limit || e.Offset == 0 {
				t.Fatalf("DecodeObject error %#v, want limit %s with a position", err, tc.limit)
			}
			// The same document decoded without the limit is refused by CheckComplexity.
			doc, err = DecodeObject([]byte(tc.in), Limits{MaxKeys: 100, MaxNodes: 100})
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckComplexity(doc, lim); !errors.As(err, &e) || e.Limit != tc.limit {
				t.Fatalf("CheckComplexity error %#v, want limit %s", err, tc.limit)
			}
		})
	}
}

func TestComplexityDefaults(t *testing.T) {
	if _, err := DecodeObject([]byte(wideObject(1000)), Limits{}); err != nil {
		t.Fatalf("1,000 keys refused by default: %v", err)
	}
	var e *Error
	if _, err := DecodeObject([]byte(wideObject(1001)), Limits{}); !errors.As(err, &e) || e.Limit != LimitKeys || e.Max != 1000 {
		t.Fatalf("1,001 keys: %v", err)
	}
	if _, err := DecodeObject([]byte(longArray(10000)), Limits{}); !errors.As(err, &e) || e.Limit != LimitNodes || e.Max != 10000 {
		t.Fatalf("10,001 values: %v", err)
	}
}
