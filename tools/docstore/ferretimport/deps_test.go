package ferretimport

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNoFerretDB: the binaries that migrate old data must not carry FerretDB, so this
// package reads its files without it.
func TestImportsNoFerretDB(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(strings.ToLower(dep), "ferretdb/ferretdb") {
			t.Errorf("ferretimport depends on %s", dep)
		}
	}
}
