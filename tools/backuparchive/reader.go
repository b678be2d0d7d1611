package backuparchive

import (
	"archive/tar"
	"crypto/sha256"
	"hash"
	"io"
)

// Reader reads, entry by entry, an archive that already passed Verify (typically spooled to a
// file by the caller), checking each entry against the manifest again as it goes: the file could
// have changed since. It trusts only the manifest it was given, not the one in the archive.
type Reader struct {
	tr   *tar.Reader
	m    Manifest
	next int          // index in m.Entries of the entry Next returns next
	cur  *entryReader // content of the entry Next returned last, if any
	err  error        // sticky: once an entry is wrong, nothing after it is trusted
}

// Open starts reading r, expecting exactly the entries of m, which Verify returned for the same
// archive.
func Open(r io.Reader, m Manifest) *Reader {
	return &Reader{tr: tar.NewReader(&source{r: r}), m: m}
}

// Next returns the next entry and a reader of its content. The content reader ends with io.EOF
// only if the content has the manifest's size and sha256; otherwise it ends with an *Error, and
// the caller must not keep what it read. Content left unread is read and checked by the next
// call. After the last entry Next checks that the manifest's header follows and returns io.EOF;
// it reads no further.
func (r *Reader) Next() (Entry, io.Reader, error) {
	if r.err != nil {
		return Entry{}, nil, r.err
	}
	e, content, err := r.advance()
	if err != nil {
		r.err = blame(err)
		return Entry{}, nil, r.err
	}
	return e, content, nil
}

// advance finishes the current entry and moves to the next one.
func (r *Reader) advance() (Entry, io.Reader, error) {
	after := ""
	if r.cur != nil {
		after = r.cur.want.Name
		if _, err := io.Copy(io.Discard, r.cur); err != nil {
			return Entry{}, nil, err
		}
		r.cur = nil
	}
	hdr, err := nextHeader(r.tr, after)
	if r.next == len(r.m.Entries) {
		switch {
		case err == io.EOF:
			return Entry{}, nil, refuse("", "the archive has no manifest")
		case err != nil:
			return Entry{}, nil, err
		}
		if err := checkName(hdr.Name); err != nil {
			return Entry{}, nil, err
		}
		if hdr.Name != ManifestName {
			return Entry{}, nil, refuse(hdr.Name, "the entry is not listed in the manifest")
		}
		return Entry{}, nil, io.EOF
	}
	want := r.m.Entries[r.next]
	switch {
	case err == io.EOF:
		return Entry{}, nil, refuse(want.Name, "the archive ends before this entry")
	case err != nil:
		return Entry{}, nil, err
	case hdr.Name == ManifestName:
		return Entry{}, nil, refuse(want.Name, "the archive lacks this entry")
	}
	if err := checkHeader(hdr); err != nil {
		return Entry{}, nil, err
	}
	switch {
	case hdr.Name != want.Name:
		return Entry{}, nil, refuse(hdr.Name, "the entry is not the one the manifest lists next (%q)", want.Name)
	case hdr.Size != want.Size:
		return Entry{}, nil, refuse(want.Name, "the entry holds %d bytes; the manifest says %d", hdr.Size, want.Size)
	}
	r.next++
	r.cur = &entryReader{r: r.tr, want: want, h: sha256.New()}
	return want, r.cur, nil
}

// entryReader hashes an entry's content as it is read and checks it at the end.
type entryReader struct {
	r    io.Reader
	want Entry
	h    hash.Hash
	n    int64
	err  error // sticky, including the final io.EOF
}

func (e *entryReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.r.Read(p)
	e.h.Write(p[:n])
	e.n += int64(n)
	switch {
	case err == io.EOF:
		e.err = e.finish()
	case err != nil:
		e.err = blame(contentError(e.want.Name, err))
	}
	return n, e.err
}

// finish checks the whole content against the manifest.
func (e *entryReader) finish() error {
	switch {
	case e.n != e.want.Size:
		return refuse(e.want.Name, "the entry holds %d bytes; the manifest says %d", e.n, e.want.Size)
	case sumHex(e.h.Sum(nil)) != e.want.SHA256:
		return refuse(e.want.Name, "the entry's sha256 does not match the manifest")
	}
	return io.EOF
}
