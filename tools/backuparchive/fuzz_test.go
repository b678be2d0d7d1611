package backuparchive

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzVerify feeds arbitrary bytes to Verify. It must never panic, must refuse with *Error
// (the input is in memory, so nothing else can fail), and whatever it accepts must read back
// through Open as exactly the manifest's entries: valid distinct names, in order, each with the
// listed size and a sha256 computed here, independently of the package's own checks.
func FuzzVerify(f *testing.F) {
	f.Add(writtenSample(f))
	f.Add(archiveOf(f))
	lim := Limits{MaxEntries: 64, MaxEntryBytes: 64 * kib, MaxTotalBytes: 256 * kib}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Verify(bytes.NewReader(data), lim)
		if err != nil {
			if !errors.As(err, new(*Error)) {
				t.Fatalf("error %v is a %T, want *Error", err, err)
			}
			return
		}
		if m.Format != Format || m.Version != Version || len(m.Entries) > lim.MaxEntries {
			t.Fatalf("accepted manifest %+v", m)
		}
		names := newNameSet()
		var total int64
		r := Open(bytes.NewReader(data), m)
		for i := 0; ; i++ {
			e, content, err := r.Next()
			if err == io.EOF {
				if i != len(m.Entries) {
					t.Fatalf("Open gave %d entries, the manifest lists %d", i, len(m.Entries))
				}
				break
			}
			if err != nil {
				t.Fatalf("Open refused what Verify accepted, at entry %d: %v", i, err)
			}
			if err := checkName(e.Name); err != nil {
				t.Fatalf("accepted a bad name: %v", err)
			}
			if err := names.add(e.Name); err != nil {
				t.Fatalf("accepted a clashing name: %v", err)
			}
			body, err := io.ReadAll(content)
			if err != nil {
				t.Fatalf("reading %q: %v", e.Name, err)
			}
			sum := sha256.Sum256(body)
			if e != m.Entries[i] || int64(len(body)) != e.Size || sumHex(sum[:]) != e.SHA256 || e.Size > lim.MaxEntryBytes {
				t.Fatalf("entry %d read back as %q (%d bytes, sha256 %x), manifest has %+v", i, e.Name, len(body), sum, m.Entries[i])
			}
			total += e.Size
		}
		if total > lim.MaxTotalBytes {
			t.Fatalf("accepted %d bytes in all", total)
		}
	})
}

// TestFuzzSeeds keeps the committed seed corpus meaningful: the valid seed verifies and every
// broken one is refused, so FuzzVerify starts from both sides of the line.
func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzVerify")
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("the seed corpus holds %d files", len(files))
	}
	for _, f := range files {
		raw, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		header, value, _ := strings.Cut(strings.TrimSpace(string(raw)), "\n")
		quoted, ok := strings.CutPrefix(value, "[]byte(")
		data, err := strconv.Unquote(strings.TrimSuffix(quoted, ")"))
		if header != "go test fuzz v1" || !ok || err != nil {
			t.Fatalf("%s is not a corpus file of one []byte (%v)", f.Name(), err)
		}
		_, err = Verify(strings.NewReader(data), Limits{})
		if valid := f.Name() == "valid"; valid != (err == nil) {
			t.Errorf("seed %s: Verify says %v", f.Name(), err)
		}
	}
}
