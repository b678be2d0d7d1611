package backuparchive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// writtenSample is sample written by Writer, as a real backup would be.
func writtenSample(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, map[string]string{"backend": "shop"}, Options{})
	for _, m := range sample {
		if err := w.Add(m.name, int64(len(m.body)), strings.NewReader(m.body)); err != nil {
			t.Fatal(err)
		}
	}
	w.Count("documents", 2)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestVerifyAcceptsHandBuilt checks that Verify does not depend on this package's Writer: any
// tar writer following the format will do, with record padding after the trailer.
func TestVerifyAcceptsHandBuilt(t *testing.T) {
	data := archiveOf(t, sample...)
	for _, padding := range []int{0, 512, 10240 - len(data)%10240, maxTrailingZero} {
		padded := append(bytes.Clone(data), make([]byte, padding)...)
		m, err := Verify(bytes.NewReader(padded), Limits{})
		if err != nil {
			t.Fatalf("with %d bytes of padding: %v", padding, err)
		}
		if got := readBack(t, padded, m); string(got["files/odd name ☃.txt"]) != "hello" {
			t.Fatalf("read back %q", got)
		}
	}
}

// TestVerifyCorruptByte flips one byte in each entry's content in turn: the checksum catches it.
func TestVerifyCorruptByte(t *testing.T) {
	data := writtenSample(t)
	for _, m := range sample[:2] {
		at := bytes.Index(data, []byte(m.body))
		if at < 0 {
			t.Fatalf("content of %q not found", m.name)
		}
		bad := bytes.Clone(data)
		bad[at+len(m.body)/2] ^= 0x20
		refusal(t, bad, Limits{}, m.name, "sha256 does not match")
	}
}

// TestVerifyTruncated cuts the archive at many offsets: in headers, in contents, in padding,
// in the manifest and in the trailer. Every cut is refused.
func TestVerifyTruncated(t *testing.T) {
	data := writtenSample(t)
	cuts := []int{1, 100, 511, 512, 513, len(data) - 1025, len(data) - 1024, len(data) - 513, len(data) - 512, len(data) - 1}
	for cut := 0; cut < len(data); cut += 97 {
		cuts = append(cuts, cut)
	}
	for _, cut := range cuts {
		_, err := Verify(bytes.NewReader(data[:cut]), Limits{})
		if !errors.As(err, new(*Error)) {
			t.Errorf("cut at %d of %d: %v, want *Error", cut, len(data), err)
		}
	}
	refusal(t, data[:len(data)-512], Limits{}, "", "end-of-archive marker is incomplete")
	refusal(t, data[:len(data)-1024], Limits{}, "", "end-of-archive marker is incomplete")
	refusal(t, data[:len(data)-100], Limits{}, "", "truncated")
	at := bytes.Index(data, []byte(sample[0].body))
	refusal(t, data[:at+10], Limits{}, sample[0].name, "truncated inside the entry")
}

// TestVerifyTamperedManifest changes the manifest in every way that must be caught.
func TestVerifyTamperedManifest(t *testing.T) {
	good := manifestOf(sample...)
	tamper := func(change func(m *Manifest)) []byte {
		m := manifestOf(sample...)
		change(&m)
		return rawTar(t, append(bytes2members(sample), manifestMember(t, m))...)
	}
	refusal(t, tamper(func(m *Manifest) { m.Entries[1].Size++ }), Limits{}, sample[1].name, "the manifest says 6")
	refusal(t, tamper(func(m *Manifest) { m.Entries[0].SHA256 = good.Entries[1].SHA256 }), Limits{}, sample[0].name, "sha256 does not match")
	refusal(t, tamper(func(m *Manifest) { m.Entries[0].SHA256 = strings.ToUpper(good.Entries[0].SHA256) }), Limits{}, sample[0].name, "lowercase hex")
	refusal(t, tamper(func(m *Manifest) { m.Entries = append(m.Entries, Entry{Name: "ghost", SHA256: good.Entries[2].SHA256}) }), Limits{}, "ghost", "lacks")
	refusal(t, tamper(func(m *Manifest) { m.Entries = m.Entries[:2] }), Limits{}, "empty", "not listed")
	refusal(t, tamper(func(m *Manifest) { m.Entries[0], m.Entries[1] = m.Entries[1], m.Entries[0] }), Limits{}, sample[0].name, "not where the manifest lists it")
	refusal(t, tamper(func(m *Manifest) { m.Entries = append(m.Entries, m.Entries[0]) }), Limits{}, sample[0].name, "lists the entry twice")
	refusal(t, tamper(func(m *Manifest) { m.Format = "tar" }), Limits{}, ManifestName, "format")
	refusal(t, tamper(func(m *Manifest) { m.Version = 2 }), Limits{}, ManifestName, "version is 2")
	refusal(t, tamper(func(m *Manifest) { m.Version = 0 }), Limits{}, ManifestName, "version is 0")
	refusal(t, tamper(func(m *Manifest) { m.Counts["documents"] = -1 }), Limits{}, ManifestName, "negative")
	refusal(t, tamper(func(m *Manifest) { m.CreatedAt = time.Time{} }), Limits{}, ManifestName, "createdAt")

	raw := func(manifest string) []byte {
		return rawTar(t, append(bytes2members(sample), member{name: ManifestName, body: manifest})...)
	}
	valid := manifestMember(t, good).body
	if _, err := Verify(bytes.NewReader(raw(valid)), Limits{}); err != nil {
		t.Fatalf("the untampered manifest: %v", err)
	}
	refusal(t, raw(strings.Replace(valid, `{`, `{"extra":1,`, 1)), Limits{}, ManifestName, "unknown field")
	refusal(t, raw(valid+"{}"), Limits{}, ManifestName, "data after its JSON object")
	refusal(t, raw(`{"format":"backpack-backup","version":1,"source":{},"counts":{},"entries":[]}`), Limits{}, ManifestName, "createdAt")
	refusal(t, raw(`{"format":"backpack-backup","version":"1"}`), Limits{}, ManifestName, "not valid")
	refusal(t, raw(valid[:len(valid)/2]), Limits{}, ManifestName, "not valid")
	refusal(t, raw(""), Limits{}, ManifestName, "not valid")
	refusal(t, raw("null"), Limits{}, ManifestName, "format")
	big := manifestOf(sample...)
	big.Source["padding"] = strings.Repeat("p", manifestBaseBytes+4096)
	refusal(t, raw(manifestMember(t, big).body), Limits{}, ManifestName, "larger than")
}

// bytes2members copies a member list so appending to it never aliases sample.
func bytes2members(ms []member) []member { return append([]member{}, ms...) }

// TestVerifyStructure checks where the manifest must be and that names are unique.
func TestVerifyStructure(t *testing.T) {
	a, b := member{name: "a", body: "A"}, member{name: "b", body: "B"}
	m := manifestMember(t, manifestOf(a, b))
	refusal(t, rawTar(t, a, m, b), Limits{}, "b", "after the manifest")
	refusal(t, rawTar(t, a, b, m, m), Limits{}, ManifestName, "after the manifest")
	refusal(t, rawTar(t, a, b), Limits{}, "", "no manifest")
	refusal(t, rawTar(t, a, a, m), Limits{}, "a", "appears twice")
	refusal(t, rawTar(t, a, member{name: "a/b", body: "x"}, m), Limits{}, "a/b", `inside "a"`)
	refusal(t, rawTar(t, member{name: "b/c", body: "x"}, b, m), Limits{}, "b/c", `inside "b"`)
	refusal(t, rawTar(t, a, member{name: "a!", body: "x"}, member{name: "a/b/c", body: "x"}, m), Limits{}, "a/b/c", `inside "a"`)
	refusal(t, rawTar(t, member{name: ManifestName + "/x", body: "x"}, m), Limits{}, ManifestName+"/x", "reserved")
	refusal(t, rawTar(t), Limits{}, "", "empty")
}

// TestVerifyBadNames checks every kind of name the format forbids.
func TestVerifyBadNames(t *testing.T) {
	for name, want := range map[string]string{
		"../x":                           `".." path element`,
		"a/../../x":                      `".." path element`,
		"/abs":                           "absolute",
		"a//b":                           "empty path element",
		"./a":                            `"." path element`,
		"line\nbreak":                    "control character",
		"del\x7f":                        "control character",
		`back\slash`:                     "backslash",
		"bad\xffutf8":                    "not valid UTF-8",
		strings.Repeat("n", 256):         "longer than 255",
		strings.Repeat("n/", 512) + "nn": "longer than 1024",
	} {
		x := member{name: name, body: "x"}
		refusal(t, rawTar(t, x, manifestMember(t, manifestOf(x))), Limits{}, nameShown(name), want)
	}
	if err := checkName("nul\x00byte"); err == nil || !strings.Contains(err.Error(), "control character") {
		t.Errorf("a NUL in a name: %v", err)
	}
}

// nameShown is how an error names an entry: long names are cut, invalid UTF-8 replaced.
func nameShown(name string) string {
	if len(name) > maxNameBytes {
		return name[:64] + "…"
	}
	return strings.ToValidUTF8(name, "\uFFFD")
}

// TestVerifyNotRegular checks that only regular files are accepted.
func TestVerifyNotRegular(t *testing.T) {
	for _, typ := range []byte{tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo} {
		x := member{name: "x", typ: typ}
		refusal(t, rawTar(t, x, manifestMember(t, manifestOf())), Limits{}, "x", "not a regular file")
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "global", PAXRecords: map[string]string{"comment": "hi"}}); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	refusal(t, buf.Bytes(), Limits{}, "global", "not a regular file")
}

// TestVerifyLimits checks each limit, just over and just at it.
func TestVerifyLimits(t *testing.T) {
	data := archiveOf(t, sample...) // 3 entries of 30, 5 and 0 bytes
	refusal(t, data, Limits{MaxEntries: 2}, "", "more than 2 entries")
	refusal(t, data, Limits{MaxEntryBytes: 29}, sample[0].name, "larger than the limit of 29 bytes")
	refusal(t, data, Limits{MaxTotalBytes: 34}, sample[1].name, "add up to more than the limit of 34 bytes")
	if _, err := Verify(bytes.NewReader(data), Limits{MaxEntries: 3, MaxEntryBytes: 30, MaxTotalBytes: 35}); err != nil {
		t.Fatalf("at the limits: %v", err)
	}
}

// TestVerifyNotAnArchive checks inputs that are not backup archives at all.
func TestVerifyNotAnArchive(t *testing.T) {
	refusal(t, nil, Limits{}, "", "empty")
	refusal(t, make([]byte, 4096), Limits{}, "", "empty")
	refusal(t, []byte(strings.Repeat("hello, not a tar ", 100)), Limits{}, "", "not a tar archive")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(writtenSample(t)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	refusal(t, gz.Bytes(), Limits{}, "", "not a tar archive")
	other := rawTar(t, member{name: "README", body: "some other tar"}, member{name: ManifestName, body: `{"name":"npm package"}`})
	refusal(t, other, Limits{}, ManifestName, "unknown field")
}

// TestVerifyDataAfterEnd checks that only zero padding may follow the archive.
func TestVerifyDataAfterEnd(t *testing.T) {
	data := writtenSample(t)
	refusal(t, append(bytes.Clone(data), 0, 0, 'x'), Limits{}, "", "data after its end")
	refusal(t, append(bytes.Clone(data), make([]byte, maxTrailingZero+1)...), Limits{}, "", "more than 1 MiB of padding")
	refusal(t, append(bytes.Clone(data), rawTar(t, member{name: "smuggled", body: "x"})...), Limits{}, "", "data after its end")
}

// TestVerifyReaderFailure checks that a failure of the caller's reader comes back as that
// failure, not as a refused archive, and that a reader ending early is a truncated archive.
func TestVerifyReaderFailure(t *testing.T) {
	data := writtenSample(t)
	broken := errors.New("connection reset")
	for _, at := range []int{0, 10, 600, len(data) - 10} {
		_, err := Verify(io.MultiReader(bytes.NewReader(data[:at]), iotest.ErrReader(broken)), Limits{})
		if !errors.Is(err, broken) || errors.As(err, new(*Error)) {
			t.Errorf("failing at %d: %v (%T)", at, err, err)
		}
		_, err = Verify(io.MultiReader(bytes.NewReader(data[:at]), iotest.ErrReader(io.ErrUnexpectedEOF)), Limits{})
		if !errors.As(err, new(*Error)) {
			t.Errorf("ending early at %d: %v (%T), want *Error", at, err, err)
		}
	}
}

// TestErrorMessage checks the message an API answer will carry.
func TestErrorMessage(t *testing.T) {
	if got, want := refuse("a b", "the entry is %s", "bad").Error(), `backup archive: entry "a b": the entry is bad`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := refuse("", "the archive is empty").Error(), "backup archive: the archive is empty"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := json.Marshal(refuse("x", "y")); err != nil {
		t.Error(err)
	}
}

// TestVerifySparse checks that a sparse file, which archive/tar reports as a regular file and
// expands with zeros, is refused. archive/tar cannot write one, so its PAX header is made by
// writing the records as a file and patching that header's type and checksum.
func TestVerifySparse(t *testing.T) {
	var records string
	for _, kv := range [][2]string{{"GNU.sparse.major", "0"}, {"GNU.sparse.minor", "1"}, {"GNU.sparse.name", "x"},
		{"GNU.sparse.realsize", "10"}, {"GNU.sparse.numblocks", "1"}, {"GNU.sparse.map", "0,3"}} {
		rec := " " + kv[0] + "=" + kv[1] + "\n"
		records += strconv.Itoa(len(rec)+2) + rec // every record here is 10 to 99 bytes long
	}
	x := member{name: "x", body: "abc"}
	data := rawTar(t, member{name: "pax", body: records}, x, manifestMember(t, manifestOf(x)))
	data[156] = tar.TypeXHeader
	copy(data[148:156], "        ")
	sum := 0
	for _, c := range data[:blockSize] {
		sum += int(c)
	}
	copy(data[148:156], fmt.Sprintf("%06o\x00 ", sum))
	refusal(t, data, Limits{}, "x", "sparse")
}
