package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinariesLeaveFerretDBOut keeps FerretDB out of what ships: it is the test stand-in for
// mongo:7 (internal/cmd/mongo-standin, internal/testenv), not an engine of the product, and
// the previous version's data is migrated by reading its files, not by running it.
func TestBinariesLeaveFerretDBOut(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../backpack", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/FerretDB/") || strings.HasSuffix(pkg, "/tools/embeddeddb") {
			t.Errorf("a shipped binary depends on %s", pkg)
		}
	}
}
