// Package ferretfixture hands tests the data directories the previous version of Backpack
// wrote (embedded FerretDB; see ../testdata/README.md), each copied into a test's temporary
// directory so that migrating it changes nothing in the repository, with what they hold.
// Only tests import it.
package ferretfixture

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Fixture names.
const (
	// Dev is a `backpack dev` data directory (the local runtime): backends shop and blog.
	Dev = "dev"
	// Embedded is a `backpack-api --embedded` data directory; its database is "backpack".
	Embedded = "embedded"
)

// The operator (first developer account) of the Dev fixture's control plane.
const (
	DevOperatorEmail    = "op@example.com"
	DevOperatorPassword = "operator password 1"
)

// Expected is what a fixture holds (its expected.json).
type Expected struct {
	// Databases maps a FerretDB database name to its collections.
	Databases map[string]map[string]Collection `json:"databases"`
	// Backends holds, per backend name ("" for the embedded fixture), what signing in and
	// reading files needs.
	Backends map[string]Backend `json:"backends"`
}

// Collection is one collection as FerretDB read it back.
type Collection struct {
	// Documents are canonical Extended JSON, in _id order.
	Documents []json.RawMessage `json:"documents"`
	// Indexes are FerretDB's listIndexes answer, canonical Extended JSON.
	Indexes []json.RawMessage `json:"indexes"`
}

// Backend is one backend's secrets and its users' passwords.
type Backend struct {
	APIKey     string            `json:"apiKey"`
	AdminToken string            `json:"adminToken,omitempty"`
	Passwords  map[string]string `json:"passwords"` // lower-cased email → password
	Files      map[string]string `json:"files"`     // "ownerEmail/filename" → content
	Site       map[string]string `json:"site"`      // path in the site → content
}

// Docs decodes the collection's documents, with their exact BSON types.
func (c Collection) Docs() ([]bson.D, error) {
	docs := make([]bson.D, 0, len(c.Documents))
	for _, raw := range c.Documents {
		var d bson.D
		if err := bson.UnmarshalExtJSON(raw, true, &d); err != nil {
			return nil, fmt.Errorf("expected document %s: %w", raw, err)
		}
		docs = append(docs, d)
	}
	return docs, nil
}

// Dir is where the fixture lives in the repository; tests that change it use Copy.
func Dir(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", name)
}

// Copy copies a fixture (files, directories, symbolic links, as they are) into a new
// temporary directory of t and returns that copy's path.
func Copy(t testing.TB, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	if err := copyTree(Dir(name), dst); err != nil {
		t.Fatalf("copy fixture %s: %v", name, err)
	}
	return dst
}

// Load reads what a fixture holds.
func Load(t testing.TB, name string) Expected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Dir(name), "expected.json"))
	if err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	var e Expected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("fixture %s: expected.json: %v", name, err)
	}
	return e
}

// copyTree copies src into dst, which must not exist; directories become 0700 and files
// 0600, as Backpack keeps its data directory.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o700)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		default:
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, 0o600)
		}
	})
}
