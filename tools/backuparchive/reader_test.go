package backuparchive

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// verified is the sample archive and its manifest, as Verify returned it.
func verified(t *testing.T) ([]byte, Manifest) {
	t.Helper()
	data := writtenSample(t)
	m, err := Verify(bytes.NewReader(data), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return data, m
}

// TestOpenChangedContent changes an entry after Verify: reading it ends with an *Error instead
// of io.EOF, and the reader stops there.
func TestOpenChangedContent(t *testing.T) {
	data, m := verified(t)
	at := bytes.Index(data, []byte(sample[1].body))
	data[at] ^= 1
	r := Open(bytes.NewReader(data), m)
	if _, content, err := r.Next(); err != nil {
		t.Fatal(err)
	} else if _, err := io.ReadAll(content); err != nil {
		t.Fatalf("the unchanged entry: %v", err)
	}
	e, content, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(content)
	checkError(t, err, e.Name, "sha256 does not match")
	_, _, err = r.Next()
	checkError(t, err, e.Name, "sha256 does not match")
}

// TestOpenSkippedContent checks that content the caller does not read is still checked.
func TestOpenSkippedContent(t *testing.T) {
	data, m := verified(t)
	at := bytes.Index(data, []byte(sample[0].body))
	data[at] ^= 1
	r := Open(bytes.NewReader(data), m)
	if _, _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	_, _, err := r.Next()
	checkError(t, err, sample[0].name, "sha256 does not match")
}

// TestOpenDifferentArchive gives Open archives that do not match the manifest: another entry
// in the place of one, one entry more or fewer, a truncated file.
func TestOpenDifferentArchive(t *testing.T) {
	_, m := verified(t)
	a, b, c := sample[0], sample[1], sample[2]
	other := member{name: "other", body: "x"}
	changed := member{name: b.name, body: b.body + "!"}
	cases := []struct {
		data        []byte
		entry, want string
	}{
		{archiveOf(t, a, other, c), other.name, "not the one the manifest lists next"},
		{archiveOf(t, a, changed, c), b.name, "the manifest says 5"},
		{archiveOf(t, a, b, c, other), other.name, "not listed in the manifest"},
		{archiveOf(t, a, b), c.name, "the archive lacks this entry"},
		{rawTar(t, a, b), c.name, "the archive ends before this entry"},
		{rawTar(t, a, b, c), "", "no manifest"},
		{rawTar(t, a, member{name: "/abs", body: b.body}), "/abs", "absolute"},
	}
	for _, tc := range cases {
		got := readUntilError(Open(bytes.NewReader(tc.data), m))
		checkError(t, got, tc.entry, tc.want)
	}
	// Cut anywhere before the manifest's header ends, the archive is refused; after it, every
	// entry was read and checked, and Open, which trusts only the manifest it was given, stops.
	data := writtenSample(t)
	manifestHeaderEnd := bytes.Index(data, []byte(ManifestName))/blockSize*blockSize + blockSize
	for cut := 0; cut < manifestHeaderEnd; cut += 61 {
		if err := readUntilError(Open(bytes.NewReader(data[:cut]), m)); !errors.As(err, new(*Error)) {
			t.Errorf("cut at %d: %v, want *Error", cut, err)
		}
	}
}

// readUntilError reads every entry and returns the first error other than the final io.EOF.
func readUntilError(r *Reader) error {
	for {
		_, content, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, content); err != nil {
			return err
		}
	}
}

// TestOpenReaderFailure checks that the caller's reader failing is reported as that failure.
func TestOpenReaderFailure(t *testing.T) {
	data, m := verified(t)
	broken := errors.New("disk gone")
	for _, at := range []int{0, 600, 1500} {
		err := readUntilError(Open(io.MultiReader(bytes.NewReader(data[:at]), iotest.ErrReader(broken)), m))
		if !errors.Is(err, broken) || errors.As(err, new(*Error)) {
			t.Errorf("failing at %d: %v (%T)", at, err, err)
		}
	}
}
