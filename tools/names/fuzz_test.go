package names

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzFilename checks the property that matters: an accepted name, joined under a directory,
// stays a direct child of that directory.
func FuzzFilename(f *testing.F) {
	for _, s := range []string{"a.txt", "..", "../x", "a/../../b", "x\x00", ".", "..\\x", "a..", " "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if Filename(name) != nil {
			return
		}
		const dir = "/srv/files/user"
		joined := filepath.Join(dir, name)
		if filepath.Dir(joined) != dir || filepath.Base(joined) != name {
			t.Fatalf("accepted %q escapes or changes: %q", name, joined)
		}
	})
}

// FuzzBackend checks that an accepted backend name is always a safe DNS label and compose
// project name: only [a-z0-9-], so it cannot inject into a Host() rule or a label.
func FuzzBackend(f *testing.F) {
	for _, s := range []string{"shop", "a--b", "x`y", "shop)", "shop-be", "ab", "admin"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if Backend(name) != nil {
			return
		}
		if strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" || len(name) > 32 || len(name) < 3 {
			t.Fatalf("accepted unsafe backend name %q", name)
		}
	})
}

// FuzzCollection checks that an accepted collection name is a single safe path segment.
func FuzzCollection(f *testing.F) {
	for _, s := range []string{"cars", "auth", "_x", "a.b", "system.x", "a/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if Collection(name) != nil {
			return
		}
		if strings.ContainsAny(name, "/.$\x00 ") || strings.HasPrefix(name, "_") || len(name) > 64 {
			t.Fatalf("accepted unsafe collection name %q", name)
		}
	})
}
