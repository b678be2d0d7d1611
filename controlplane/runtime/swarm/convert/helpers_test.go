package convert

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// testNamespace is the stack every test deploys: a backend called "shop".
const testNamespace = "shop"

// load reads a compose file the way the runtime does: with the stack's name as project name,
// interpolated from env.
func load(t *testing.T, yaml string, env map[string]string, options ...func(*loader.Options)) *types.Project {
	t.Helper()
	p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  t.TempDir(),
		ConfigFiles: []types.ConfigFile{{Filename: "stack.yml", Content: []byte(yaml)}},
		Environment: env,
	}, append([]func(*loader.Options){func(o *loader.Options) {
		o.SetProjectName(testNamespace, true)
	}}, options...)...)
	if err != nil {
		t.Fatalf("load: %v\n%s", err, yaml)
	}
	return p
}

// equal fails with both values as JSON, which shows where deep specs differ.
func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// errorLines splits a joined error into its messages.
func errorLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func ptr[T any](v T) *T { return &v }
