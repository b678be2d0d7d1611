package backuparchive

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// randomBytes is n bytes that do not compress and differ from call to call.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestRoundTrip writes entries of many sizes and awkward names, some with Add and some with
// Create (in memory and spooled to disk), and checks that Verify returns the manifest the writer
// meant and that Open gives back every byte.
func TestRoundTrip(t *testing.T) {
	long := strings.Repeat("é", 100) + "/" + strings.Repeat("x", 255) + "/" + strings.Repeat("ü", 120)
	want := []struct {
		name   string
		body   []byte
		create bool
	}{
		{"empty", nil, false},
		{"empty-created", nil, true},
		{"one", []byte("1"), false},
		{"documents/cars.jsonl", []byte("{\"make\":\"VW\",\"year\":1974}\n"), true},
		{"files/with space/ünïcødé ☃ name.txt", randomBytes(1, 511), false},
		{"files/512", randomBytes(2, 512), false},
		{"files/513", randomBytes(3, 513), true},
		{"files/big.bin", randomBytes(4, 1<<20+7), false},
		{"documents/big.jsonl", randomBytes(5, 3<<20+1), true},
		{"files/<&>\"quoted\" 'name'", []byte("html characters stay as they are"), false},
		{long, []byte("a name beyond ustar's 100 bytes"), false},
	}
	spoolDir := t.TempDir()
	var buf bytes.Buffer
	source := map[string]string{"backend": "shop", "version": "test"}
	before := time.Now().UTC().Add(-time.Second)
	w := NewWriter(&buf, source, Options{SpoolDir: spoolDir, SpoolMemoryBytes: 1024})
	source["backend"] = "changed after NewWriter"
	for _, e := range want {
		if e.create {
			ew, err := w.Create(e.name)
			if err != nil {
				t.Fatalf("Create(%q): %v", e.name, err)
			}
			// Written in pieces of odd sizes, across the spool's memory bound.
			for rest := e.body; len(rest) > 0; {
				n := min(len(rest), 777)
				if _, err := ew.Write(rest[:n]); err != nil {
					t.Fatalf("writing %q: %v", e.name, err)
				}
				rest = rest[n:]
			}
			if err := ew.Close(); err != nil {
				t.Fatalf("closing %q: %v", e.name, err)
			}
		} else if err := w.Add(e.name, int64(len(e.body)), iotest.OneByteReader(bytes.NewReader(e.body))); err != nil {
			t.Fatalf("Add(%q): %v", e.name, err)
		}
	}
	w.Count("documents", 3)
	w.Count("documents", 4)
	w.Count("users", 0)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if left, err := os.ReadDir(spoolDir); err != nil || len(left) != 0 {
		t.Fatalf("spool directory holds %v (%v)", left, err)
	}

	m, err := Verify(bytes.NewReader(buf.Bytes()), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Format != Format || m.Version != Version {
		t.Errorf("format %q version %d", m.Format, m.Version)
	}
	if m.CreatedAt.Before(before) || m.CreatedAt.After(time.Now()) {
		t.Errorf("createdAt %v is not the time of writing", m.CreatedAt)
	}
	if wantSource := map[string]string{"backend": "shop", "version": "test"}; !reflect.DeepEqual(m.Source, wantSource) {
		t.Errorf("source %v, want %v", m.Source, wantSource)
	}
	if wantCounts := map[string]int{"documents": 7, "users": 0}; !reflect.DeepEqual(m.Counts, wantCounts) {
		t.Errorf("counts %v, want %v", m.Counts, wantCounts)
	}
	if len(m.Entries) != len(want) {
		t.Fatalf("manifest lists %d entries, want %d", len(m.Entries), len(want))
	}
	got := readBack(t, buf.Bytes(), m)
	for i, e := range want {
		if m.Entries[i].Name != e.name || m.Entries[i].Size != int64(len(e.body)) {
			t.Errorf("entry %d is %+v, want %q of %d bytes", i, m.Entries[i], e.name, len(e.body))
		}
		if !bytes.Equal(got[e.name], e.body) {
			t.Errorf("entry %q came back different (%d bytes, want %d)", e.name, len(got[e.name]), len(e.body))
		}
	}
}

// TestEmptyArchive checks that an archive with nothing but its manifest is valid.
func TestEmptyArchive(t *testing.T) {
	var buf bytes.Buffer
	if err := NewWriter(&buf, nil, Options{}).Close(); err != nil {
		t.Fatal(err)
	}
	m, err := Verify(&buf, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Entries == nil || len(m.Entries) != 0 || m.Source == nil || m.Counts == nil {
		t.Fatalf("manifest %+v", m)
	}
}

// TestWriterRefusesNames checks that the writer refuses what Verify would, without spoiling the
// archive: a later valid entry still makes a valid archive.
func TestWriterRefusesNames(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, nil, Options{})
	if err := w.Add("a/b", 1, strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", "../x", "/abs", "a//b", "a/", "./a", "nul\x00byte", "tab\tname",
		`back\slash`, "bad\xffutf8", strings.Repeat("n", 1025), strings.Repeat("n", 256),
		"a/b", "a", "a/b/c", ManifestName, ManifestName + "/x"} {
		if err := w.Add(name, 1, strings.NewReader("x")); err == nil {
			t.Errorf("Add(%q) was accepted", name)
		} else if !errors.As(err, new(*Error)) {
			t.Errorf("Add(%q): %v is a %T, want *Error", name, err, err)
		}
		if _, err := w.Create(name); err == nil {
			t.Errorf("Create(%q) was accepted", name)
		}
	}
	if err := w.Add("c", 1, strings.NewReader("y")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	m, err := Verify(&buf, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Entries) != 2 {
		t.Fatalf("entries %+v", m.Entries)
	}
}

// TestWriterLimits checks that the writer refuses entries over its limits before writing them.
func TestWriterLimits(t *testing.T) {
	lim := Limits{MaxEntries: 2, MaxEntryBytes: 10, MaxTotalBytes: 15}
	w := NewWriter(io.Discard, nil, Options{Limits: lim})
	if err := w.Add("big", 11, strings.NewReader(strings.Repeat("x", 11))); err == nil {
		t.Error("an entry over MaxEntryBytes was accepted")
	}
	if err := w.Add("a", 10, strings.NewReader(strings.Repeat("x", 10))); err != nil {
		t.Fatal(err)
	}
	if err := w.Add("b", 6, strings.NewReader(strings.Repeat("x", 6))); err == nil {
		t.Error("an entry over MaxTotalBytes was accepted")
	}
	if err := w.Add("b", 5, strings.NewReader(strings.Repeat("x", 5))); err != nil {
		t.Fatal(err)
	}
	if err := w.Add("c", 0, strings.NewReader("")); err == nil {
		t.Error("an entry over MaxEntries was accepted")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	w = NewWriter(io.Discard, nil, Options{Limits: lim, SpoolDir: t.TempDir(), SpoolMemoryBytes: 4})
	ew, err := w.Create("grows")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ew.Write([]byte("123456")); err != nil {
		t.Fatal(err)
	}
	if _, err := ew.Write([]byte("78901")); err == nil {
		t.Fatal("a created entry grew over MaxEntryBytes")
	}
	if err := ew.Close(); err == nil {
		t.Fatal("closing an entry that failed succeeded")
	}
	if err := w.Close(); err == nil {
		t.Fatal("closing an archive whose entry failed succeeded")
	}
}

// TestWriterWrongSize checks that a reader giving fewer or more bytes than announced ends the
// archive: no manifest can be written after it.
func TestWriterWrongSize(t *testing.T) {
	for _, body := range []string{"abc", "abcde"} {
		w := NewWriter(io.Discard, nil, Options{})
		if err := w.Add("f", 4, strings.NewReader(body)); err == nil {
			t.Errorf("a reader of %d bytes was accepted for 4", len(body))
		}
		if err := w.Add("g", 0, strings.NewReader("")); err == nil {
			t.Error("the writer went on after a failed entry")
		}
		if err := w.Close(); err == nil {
			t.Error("the writer closed after a failed entry")
		}
	}
}

// TestWriterOneOpenEntry checks that nothing else happens while a created entry is open.
func TestWriterOneOpenEntry(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, nil, Options{})
	ew, err := w.Create("open")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Create("other"); err == nil {
		t.Error("a second entry was created while one is open")
	}
	if err := w.Add("other", 0, strings.NewReader("")); err == nil {
		t.Error("an entry was added while one is open")
	}
	if err := w.Close(); err == nil {
		t.Error("the archive closed while an entry is open")
	}
	if _, err := io.WriteString(ew, "content"); err != nil {
		t.Fatal(err)
	}
	if err := ew.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ew.Close(); err == nil {
		t.Error("an entry closed twice")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err == nil {
		t.Error("the archive closed twice")
	}
	m, err := Verify(&buf, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Entries) != 1 || m.Entries[0].Size != int64(len("content")) {
		t.Fatalf("entries %+v", m.Entries)
	}
}

// TestWriterSourceTooLarge checks that the writer refuses to write a manifest Verify would
// refuse as too large.
func TestWriterSourceTooLarge(t *testing.T) {
	w := NewWriter(io.Discard, map[string]string{"huge": strings.Repeat("x", manifestBaseBytes)}, Options{})
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("Close: %v", err)
	}
}
