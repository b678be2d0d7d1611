package siterelease

import (
	"archive/zip"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// member is one entry of a test archive.
type member struct {
	name  string
	body  string
	mode  fs.FileMode // zero: a regular file, or a directory when name ends in "/"
	flags uint16
}

// siteFiles turns name, body pairs into archive members.
func siteFiles(pairs ...string) []member {
	var ms []member
	for i := 0; i+1 < len(pairs); i += 2 {
		ms = append(ms, member{name: pairs[i], body: pairs[i+1]})
	}
	return ms
}

// buildZip writes an archive in memory with archive/zip, deflating every member.
func buildZip(t testing.TB, members ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, m := range members {
		fh := &zip.FileHeader{Name: m.name, Method: zip.Deflate, Flags: m.flags}
		fh.Modified = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
		if m.mode != 0 {
			fh.SetMode(m.mode)
		}
		fw, err := w.CreateHeader(fh)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write([]byte(m.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawZip writes an archive of one member whose header is taken as given, so tests can make
// the header lie about sizes, checksums or the compression method.
func rawZip(t testing.TB, fh *zip.FileHeader, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	fw, err := w.CreateRaw(fh)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// newStore opens a Store on a fresh directory.
func newStore(t *testing.T, lim Limits) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir, lim)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

// mustInstall installs an archive that the test expects to be accepted.
func mustInstall(t *testing.T, s *Store, data []byte) Release {
	t.Helper()
	rel, err := s.Install(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Install: %v", err)
	}
	return rel
}

// assertRefused installs an archive the test expects to be refused with an *Error whose message
// contains want, and checks that the site directory is exactly as it was.
func assertRefused(t *testing.T, s *Store, dir string, data []byte, want string) {
	t.Helper()
	before := snapshot(t, dir)
	_, err := s.Install(bytes.NewReader(data))
	var refused *Error
	if !errors.As(err, &refused) {
		t.Fatalf("Install error = %v (%T), want *Error", err, err)
	}
	if !strings.Contains(refused.Msg, want) {
		t.Errorf("Install error = %q, want it to mention %q", refused.Msg, want)
	}
	if after := snapshot(t, dir); !slices.Equal(before, after) {
		t.Errorf("site directory changed:\nbefore %q\nafter  %q", before, after)
	}
}

// snapshot lists every path under dir, with the target of each symlink, to compare states.
func snapshot(t *testing.T, dir string) []string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			rel += " -> " + target
		}
		paths = append(paths, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return paths
}

// readCurrent reads a file of the live site the way nginx would, through the current link.
func readCurrent(t *testing.T, dir, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "current", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
