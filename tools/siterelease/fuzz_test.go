package siterelease

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzInstall feeds arbitrary bytes to Install and checks the properties that matter: it never
// panics, it refuses with *Error rather than failing some other way, and whatever it accepts or
// refuses, nothing appears outside the site directory and nothing but releases and the current
// link appears inside it.
func FuzzInstall(f *testing.F) {
	f.Add(buildZip(f, siteFiles("index.html", "<h1>hi</h1>", "assets/app.js", "go()")...))
	f.Add(buildZip(f, member{name: "dist/"}, member{name: "dist/index.html", body: "hi"}))
	f.Add(buildZip(f, member{name: "../escape.html", body: "x"}, member{name: "link", body: "/etc", mode: fs.ModeSymlink | 0o777}))
	lim := Limits{MaxArchiveBytes: 1 << 20, MaxTotalBytes: 1 << 20, MaxFiles: 100, MaxFileBytes: 256 << 10}
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "site")
		s, err := Open(dir, lim)
		if err != nil {
			t.Fatal(err)
		}
		rel, err := s.Install(bytes.NewReader(data))
		var refused *Error
		if err != nil && !errors.As(err, &refused) {
			t.Fatalf("error %v is a %T, want *Error", err, err)
		}
		if names := dirNames(t, parent); !slices.Equal(names, []string{"site"}) {
			t.Fatalf("outside the site directory: %q", names)
		}
		if err != nil {
			checkEmptySite(t, dir)
			return
		}
		checkInstalledSite(t, dir, rel)
	})
}

// checkEmptySite asserts that a refused first install left only an empty releases/.
func checkEmptySite(t *testing.T, dir string) {
	t.Helper()
	if names := dirNames(t, dir); !slices.Equal(names, []string{"releases"}) {
		t.Fatalf("site directory holds %q after a refused install", names)
	}
	if names := dirNames(t, filepath.Join(dir, "releases")); len(names) != 0 {
		t.Fatalf("releases/ holds %q after a refused install", names)
	}
}

// checkInstalledSite asserts that an accepted install left exactly one release, live, holding
// only regular files and directories.
func checkInstalledSite(t *testing.T, dir string, rel Release) {
	t.Helper()
	if names := dirNames(t, dir); !slices.Equal(names, []string{"current", "releases"}) {
		t.Fatalf("site directory holds %q", names)
	}
	if target, err := os.Readlink(filepath.Join(dir, "current")); err != nil || target != "releases/"+rel.ID {
		t.Fatalf("current -> %q (%v), want releases/%s", target, err, rel.ID)
	}
	if names := dirNames(t, filepath.Join(dir, "releases")); !slices.Equal(names, []string{rel.ID, rel.ID + ".json"}) {
		t.Fatalf("releases/ holds %q", names)
	}
	files := 0
	err := filepath.WalkDir(filepath.Join(dir, "releases", rel.ID), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.Type().IsRegular():
			files++
		case !d.IsDir():
			t.Errorf("%s is a %v", p, d.Type())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files != rel.Files {
		t.Fatalf("release holds %d files, metadata says %d", files, rel.Files)
	}
}

// dirNames lists a directory's entries, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
