package siterelease

import (
	"archive/zip"
	"bytes"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRefusedArchives installs each kind of broken or hostile archive over a live release and
// checks it is refused with an *Error, leaving the directory exactly as it was.
func TestRefusedArchives(t *testing.T) {
	valid := buildZip(t, siteFiles("index.html", "hello")...)
	page := member{name: "index.html", body: "hello"}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"not a zip", []byte("hello, I am not a zip"), "not a valid zip archive"},
		{"empty upload", nil, "not a valid zip archive"},
		{"truncated", valid[:len(valid)-10], "not a valid zip archive"},
		{"wrong checksum", rawZip(t, storedHeader("index.html", "hello", crc32.ChecksumIEEE([]byte("hellO"))), []byte("hello")), "is corrupt"},
		{"shorter than declared", rawZip(t, &zip.FileHeader{Name: "index.html", Method: zip.Store,
			CompressedSize64: 5, UncompressedSize64: 9, CRC32: crc32.ChecksumIEEE([]byte("hello"))}, []byte("hello")), "is corrupt"},
		{"absolute", buildZip(t, page, member{name: "/etc/cron.d/x", body: "x"}), "is an absolute path"},
		{"parent", buildZip(t, page, member{name: "../x", body: "x"}), `entry "../x" leaves the site directory`},
		{"nested parent", buildZip(t, page, member{name: "a/../../x", body: "x"}), "leaves the site directory"},
		{"trailing parent", buildZip(t, page, member{name: "a/..", body: "x"}), "leaves the site directory"},
		{"backslash", buildZip(t, page, member{name: `..\x`, body: "x"}), "backslash"},
		{"NUL", buildZip(t, page, member{name: "a\x00.html", body: "x"}), "control character"},
		{"control character", buildZip(t, page, member{name: "a\n.html", body: "x"}), "control character"},
		{"invalid UTF-8", buildZip(t, page, member{name: "a\xff.html", body: "x"}), "not valid UTF-8"},
		{"empty name", buildZip(t, page, member{name: "", body: "x"}), "empty name"},
		{"drive letter", buildZip(t, page, member{name: "C:/x", body: "x"}), "drive letter"},
		{"drive-relative", buildZip(t, page, member{name: "c:x", body: "x"}), "drive letter"},
		{"dot as file", buildZip(t, page, member{name: ".", body: "x"}), "does not name a file"},
		{"long name", buildZip(t, page, member{name: strings.Repeat("a/", 512) + "x", body: "x"}), "longer than 1000 bytes"},
		{"long element", buildZip(t, page, member{name: strings.Repeat("a", 256), body: "x"}), "longer than 255 bytes"},
		{"duplicate", buildZip(t, page, page), `"index.html" appears twice`},
		{"duplicate after cleaning", buildZip(t, page, member{name: "./index.html", body: "x"}), "appears twice"},
		{"duplicate double slash", buildZip(t, page, member{name: "a/b", body: "1"}, member{name: "a//b", body: "2"}), "appears twice"},
		{"duplicate directory", buildZip(t, page, member{name: "a/"}, member{name: "a/./"}), "appears twice"},
		{"file and directory", buildZip(t, page, member{name: "a", body: "x"}, member{name: "a/"}), `"a" is both a file and a directory`},
		{"file used as directory", buildZip(t, page, member{name: "a", body: "x"}, member{name: "a/b/c", body: "y"}), `"a" is both a file and a directory`},
		{"directory with data", rawZip(t, &zip.FileHeader{Name: "a/", Method: zip.Store, UncompressedSize64: 5}, nil), "holds data"},
		{"symlink", buildZip(t, page, member{name: "passwd", body: "/etc/passwd", mode: fs.ModeSymlink | 0o777}), "is a symbolic link"},
		{"named pipe", buildZip(t, page, member{name: "fifo", mode: fs.ModeNamedPipe | 0o644}), "not a regular file or directory"},
		{"device", buildZip(t, page, member{name: "sda", mode: fs.ModeDevice | 0o644}), "not a regular file or directory"},
		{"socket", buildZip(t, page, member{name: "sock", mode: fs.ModeSocket | 0o644}), "not a regular file or directory"},
		{"encrypted", buildZip(t, page, member{name: "secret.html", body: "x", flags: flagEncrypted}), "is encrypted"},
		{"bzip2", rawZip(t, &zip.FileHeader{Name: "index.html", Method: 12, CompressedSize64: 5, UncompressedSize64: 5}, []byte("hello")), "unsupported compression method"},
		{"empty archive", buildZip(t), "the archive holds no files"},
		{"only directories", buildZip(t, member{name: "a/"}, member{name: "a/b/"}), "the archive holds no files"},
	}
	s, dir := newStore(t, Limits{})
	mustInstall(t, s, buildZip(t, siteFiles("index.html", "live")...))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assertRefused(t, s, dir, tc.data, tc.want)
			if got := readCurrent(t, dir, "index.html"); got != "live" {
				t.Errorf("live index.html = %q", got)
			}
		})
	}
}

// storedHeader describes an uncompressed member whose checksum the caller chooses.
func storedHeader(name, body string, crc uint32) *zip.FileHeader {
	n := uint64(len(body))
	return &zip.FileHeader{Name: name, Method: zip.Store, CompressedSize64: n, UncompressedSize64: n, CRC32: crc}
}

func TestAcceptedNames(t *testing.T) {
	s, dir := newStore(t, Limits{})
	mustInstall(t, s, buildZip(t,
		member{name: "./"},
		member{name: "./index.html", body: "home"},
		member{name: "a//b.html", body: "b"},
		member{name: "docs/"},
		member{name: "docs/ünïcode page.html", body: "u"},
	))
	for name, want := range map[string]string{"index.html": "home", "a/b.html": "b", "docs/ünïcode page.html": "u"} {
		if got := readCurrent(t, dir, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

func TestStoredAccepted(t *testing.T) {
	s, dir := newStore(t, Limits{})
	mustInstall(t, s, rawZip(t, storedHeader("index.html", "hello", crc32.ChecksumIEEE([]byte("hello"))), []byte("hello")))
	if got := readCurrent(t, dir, "index.html"); got != "hello" {
		t.Errorf("index.html = %q", got)
	}
}

func TestStripTopDir(t *testing.T) {
	cases := []struct {
		name  string
		in    []member
		files []string // as extracted, relative to the release
	}{
		{"build folder", []member{{name: "dist/"}, {name: "dist/index.html"}, {name: "dist/assets/a.js"}},
			[]string{"assets/a.js", "index.html"}},
		{"build folder without directory entry", []member{{name: "dist/index.html"}, {name: "dist/assets/a.js"}},
			[]string{"assets/a.js", "index.html"}},
		{"files at the root", []member{{name: "index.html"}, {name: "assets/a.js"}},
			[]string{"assets/a.js", "index.html"}},
		{"two top-level directories", []member{{name: "a/index.html"}, {name: "b/index.html"}},
			[]string{"a/index.html", "b/index.html"}},
		{"one file at the root", []member{{name: "index.html"}},
			[]string{"index.html"}},
		{"only the outer folder is stripped", []member{{name: "site/dist/index.html"}},
			[]string{"dist/index.html"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, dir := newStore(t, Limits{})
			mustInstall(t, s, buildZip(t, tc.in...))
			if got := filesUnder(t, filepath.Join(dir, "current")+"/"); !slices.Equal(got, tc.files) {
				t.Errorf("extracted %q, want %q", got, tc.files)
			}
		})
	}
}

// filesUnder lists the regular files below dir, relative to it.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestExtractStaysInRoot checks the last line of defence: even given a plan that validation
// should never produce, extraction cannot write outside its directory.
func TestExtractStaysInRoot(t *testing.T) {
	parent := t.TempDir()
	release := filepath.Join(parent, "release")
	if err := os.Mkdir(release, 0o755); err != nil {
		t.Fatal(err)
	}
	data := buildZip(t, siteFiles("x", "escaped")...)
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = extract(release, []entry{{file: zr.File[0], name: "../escaped.html"}})
	if err == nil {
		t.Fatal("extract wrote a file outside its directory")
	}
	if _, err := os.Stat(filepath.Join(parent, "escaped.html")); !os.IsNotExist(err) {
		t.Errorf("escaped.html exists outside the release: %v", err)
	}
}
