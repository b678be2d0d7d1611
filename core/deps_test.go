package core

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoEdgeDependencies holds the package to its place under the edge: nothing it builds on,
// directly or not, may be an HTTP or websocket package, so every transport goes through the
// same service methods and none can reach around them.
func TestNoEdgeDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	forbidden := []string{
		"net/http",
		"github.com/labstack/echo",
		"github.com/gorilla/websocket",
		"github.com/backpackhq/backpack/tools/httpapi",
		"github.com/backpackhq/backpack/tools/httpserve",
		"github.com/backpackhq/backpack/coreapi",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("data depends on %s", dep)
			}
		}
	}
}
