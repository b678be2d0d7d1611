package backuparchive

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// member is one entry of an archive built by hand with archive/tar, to make archives Writer
// refuses to make.
type member struct {
	name string
	body string
	typ  byte // tar.TypeReg when zero
}

// rawTar writes members as a tar stream, exactly as given.
func rawTar(t testing.TB, members ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		typ := m.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Typeflag: typ, Name: m.name, Mode: 0o600, Format: tar.FormatPAX}
		switch typ {
		case tar.TypeReg:
			hdr.Size = int64(len(m.body))
		case tar.TypeSymlink, tar.TypeLink:
			hdr.Linkname = "target"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("header %q: %v", m.name, err)
		}
		if hdr.Size > 0 {
			if _, err := io.WriteString(tw, m.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// entryOf lists a member as the manifest would.
func entryOf(m member) Entry {
	sum := sha256.Sum256([]byte(m.body))
	return Entry{Name: m.name, Size: int64(len(m.body)), SHA256: sumHex(sum[:])}
}

// manifestOf is a correct manifest for members.
func manifestOf(members ...member) Manifest {
	m := Manifest{
		Format:    Format,
		Version:   Version,
		CreatedAt: time.Date(2026, 12, 3, 21, 0, 0, 0, time.UTC),
		Source:    map[string]string{"backend": "shop"},
		Counts:    map[string]int{"documents": 2},
		Entries:   []Entry{},
	}
	for _, mb := range members {
		m.Entries = append(m.Entries, entryOf(mb))
	}
	return m
}

// manifestMember is the manifest entry holding m.
func manifestMember(t testing.TB, m Manifest) member {
	t.Helper()
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return member{name: ManifestName, body: string(data)}
}

// archiveOf is a valid hand-built archive of members followed by their manifest.
func archiveOf(t testing.TB, members ...member) []byte {
	t.Helper()
	return rawTar(t, append(members, manifestMember(t, manifestOf(members...)))...)
}

// sample is a small set of entries used by many tests.
var sample = []member{
	{name: "documents/cars.jsonl", body: "{\"make\":\"VW\"}\n{\"make\":\"Fiat\"}\n"},
	{name: "files/odd name ☃.txt", body: "hello"},
	{name: "empty", body: ""},
}

// refusal asserts that Verify refuses data with an *Error whose reason contains want, and
// whose entry is entry.
func refusal(t *testing.T, data []byte, lim Limits, entry, want string) {
	t.Helper()
	_, err := Verify(bytes.NewReader(data), lim)
	checkError(t, err, entry, want)
}

// checkError asserts that err is an *Error about entry whose reason contains want.
func checkError(t *testing.T, err error, entry, want string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v (%T), want *Error %q", err, err, want)
	}
	if e.Entry != entry || !strings.Contains(e.Reason, want) {
		t.Fatalf("got entry %q reason %q, want entry %q reason containing %q", e.Entry, e.Reason, entry, want)
	}
}

// readBack reads a verified archive with Open and returns the content of each entry, failing
// the test on any error.
func readBack(t testing.TB, data []byte, m Manifest) map[string][]byte {
	t.Helper()
	got := map[string][]byte{}
	r := Open(bytes.NewReader(data), m)
	for i := 0; ; i++ {
		e, content, err := r.Next()
		if err == io.EOF {
			if i != len(m.Entries) {
				t.Fatalf("Open gave %d entries, the manifest lists %d", i, len(m.Entries))
			}
			return got
		}
		if err != nil {
			t.Fatalf("Next after %d entries: %v", i, err)
		}
		body, err := io.ReadAll(content)
		if err != nil {
			t.Fatalf("reading %q: %v", e.Name, err)
		}
		if e != m.Entries[i] {
			t.Fatalf("entry %d is %+v, want %+v", i, e, m.Entries[i])
		}
		got[e.Name] = body
	}
}
