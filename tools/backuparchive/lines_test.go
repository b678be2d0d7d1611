package backuparchive

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

// collect returns the lines Lines gives, or its error.
func collect(r io.Reader, maxLine int) ([]string, error) {
	var got []string
	err := Lines(r, "documents/cars.jsonl", maxLine, func(line []byte) error {
		got = append(got, string(line))
		return nil
	})
	return got, err
}

// TestLines checks the lines Lines gives and its bound, exactly at and just over maxLine.
func TestLines(t *testing.T) {
	got, err := collect(strings.NewReader("a\nbcd\n\nefgh"), 4)
	if err != nil || strings.Join(got, "|") != "a|bcd||efgh" {
		t.Fatalf("got %q, %v", got, err)
	}
	if got, err := collect(strings.NewReader(strings.Repeat("x", 100)+"\n"), 100); err != nil || len(got) != 1 {
		t.Fatalf("a line of exactly the limit: %q, %v", got, err)
	}
	for _, input := range []string{strings.Repeat("x", 101), strings.Repeat("x", 101) + "\n", "ok\n" + strings.Repeat("x", 200_000) + "\n"} {
		_, err := collect(strings.NewReader(input), 100)
		checkError(t, err, "documents/cars.jsonl", "longer than 100 bytes")
	}
	stop := errors.New("stop")
	if err := Lines(strings.NewReader("a\nb\n"), "e", 10, func([]byte) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("fn's error: %v", err)
	}
}

// TestLinesThroughArchive writes documents as JSON lines with Create and reads them back with
// Open and Lines, the way a backup and a restore will; a changed byte surfaces as the entry's
// checksum error from Lines.
func TestLinesThroughArchive(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, nil, Options{})
	ew, err := w.Create("documents/cars.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(ew)
	for i := range 1000 {
		if err := enc.Encode(map[string]any{"n": i, "make": "VW"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ew.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	m, err := Verify(bytes.NewReader(buf.Bytes()), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	read := func(data []byte) (int, error) {
		_, content, err := Open(bytes.NewReader(data), m).Next()
		if err != nil {
			return 0, err
		}
		n := 0
		err = Lines(content, m.Entries[0].Name, 1024, func(line []byte) error {
			var doc struct{ N int }
			if err := json.Unmarshal(line, &doc); err != nil || doc.N != n {
				t.Fatalf("line %d is %q (%v)", n, line, err)
			}
			n++
			return nil
		})
		return n, err
	}
	if n, err := read(buf.Bytes()); err != nil || n != 1000 {
		t.Fatalf("read %d documents, %v", n, err)
	}
	changed := bytes.Clone(buf.Bytes())
	changed[bytes.Index(changed, []byte(`"VW"`))+1] = 'X'
	_, err = read(changed)
	checkError(t, err, "documents/cars.jsonl", "sha256 does not match")
}
