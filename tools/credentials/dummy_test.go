package credentials

import (
	"encoding/base64"
	"strings"
	"testing"
)

// The dummy hash that unknown accounts are verified against is built without hashing; it must
// still carry the parameters and key length of a real hash, or signing in as nobody would
// answer faster than as somebody.
func TestDummyHashIsShapedLikeARealOne(t *testing.T) {
	h := NewHasher()
	real, err := h.Hash(t.Context(), "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	d, r := strings.Split(h.dummy, "$"), strings.Split(real, "$")
	if len(d) != 6 || len(r) != 6 {
		t.Fatalf("dummy %q or real %q is not in PHC format", h.dummy, real)
	}
	if strings.Join(d[:4], "$") != strings.Join(r[:4], "$") {
		t.Errorf("dummy %q has other parameters than a real hash %q", h.dummy, real)
	}
	for i, what := range map[int]string{4: "salt", 5: "key"} {
		dv, err := base64.RawStdEncoding.DecodeString(d[i])
		if err != nil {
			t.Fatalf("dummy %s: %v", what, err)
		}
		rv, _ := base64.RawStdEncoding.DecodeString(r[i])
		if len(dv) != len(rv) {
			t.Errorf("dummy %s is %d bytes, a real one %d", what, len(dv), len(rv))
		}
	}
}
