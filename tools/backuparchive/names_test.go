package backuparchive

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestClashesAgreeWithNameSet checks that the two ways of finding clashing names, the writer's
// one at a time and Verify's all at once, agree, on many random lists of short names built from
// characters that sort around "/".
func TestClashesAgreeWithNameSet(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	elements := []string{"a", "b", "a!", "a.b", "a0", "ab"}
	for range 20_000 {
		var entries []Entry
		for range 1 + r.IntN(5) {
			parts := make([]string, 1+r.IntN(3))
			for i := range parts {
				parts[i] = elements[r.IntN(len(elements))]
			}
			entries = append(entries, Entry{Name: strings.Join(parts, "/")})
		}
		set := newNameSet()
		var oneByOne error
		for _, e := range entries {
			if oneByOne = set.add(e.Name); oneByOne != nil {
				break
			}
		}
		if all := checkClashes(entries); (all == nil) != (oneByOne == nil) {
			t.Fatalf("names %v: nameSet says %v, checkClashes says %v", entries, oneByOne, all)
		}
	}
}
