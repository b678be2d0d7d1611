package backuparchive

import (
	"archive/tar"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
)

const (
	blockSize       = 512     // tar's unit: headers, padding and the trailer are whole blocks
	maxTrailingZero = 1 * mib // zero bytes accepted after the trailer (record padding)
)

// Verify reads a whole archive and checks everything before any of it is used: the structure,
// every name, the sizes against lim, every entry's sha256 against the manifest, the manifest's
// format and version, that the manifest lists every entry and nothing else in archive order, and
// that it comes last. It returns the manifest. A refused archive is an *Error; a failure of r
// itself (other than ending early, which is a truncated archive) is returned wrapped as it is,
// so the caller can tell a bad upload from a broken disk or connection.
func Verify(r io.Reader, lim Limits) (Manifest, error) {
	v := verifier{src: &source{r: r}, lim: lim.withDefaults()}
	m, err := v.run()
	if err != nil {
		return Manifest{}, blame(err)
	}
	return m, nil
}

// verifier holds the state of one Verify.
type verifier struct {
	src      *source
	lim      Limits
	seen     []Entry
	total    int64
	manifest []byte
	end      int64 // where the manifest's data ends, in bytes from the start
}

// run reads every entry, then the manifest, then what follows the archive.
func (v *verifier) run() (Manifest, error) {
	tr := tar.NewReader(v.src)
	for {
		hdr, err := nextHeader(tr, v.lastName())
		if err == io.EOF {
			break
		}
		if err != nil {
			return Manifest{}, err
		}
		if err := checkHeader(hdr); err != nil {
			return Manifest{}, err
		}
		if v.manifest != nil {
			return Manifest{}, refuse(hdr.Name, "the entry comes after the manifest, which must be last")
		}
		if hdr.Name == ManifestName {
			err = v.readManifest(tr, hdr)
		} else {
			err = v.readEntry(tr, hdr)
		}
		if err != nil {
			return Manifest{}, err
		}
	}
	if v.manifest == nil {
		if len(v.seen) == 0 {
			return Manifest{}, refuse("", "the archive is empty")
		}
		return Manifest{}, refuse("", "the archive has no manifest (%s must be its last entry)", ManifestName)
	}
	if err := checkClashes(v.seen); err != nil {
		return Manifest{}, err
	}
	if err := v.checkEnd(); err != nil {
		return Manifest{}, err
	}
	return decodeManifest(v.manifest, v.seen)
}

// lastName is the entry read last, to say where a broken header was.
func (v *verifier) lastName() string {
	if v.manifest != nil {
		return ManifestName
	}
	if len(v.seen) == 0 {
		return ""
	}
	return v.seen[len(v.seen)-1].Name
}

// readEntry checks one entry's name and size and hashes its content.
func (v *verifier) readEntry(tr *tar.Reader, hdr *tar.Header) error {
	if len(v.seen) >= v.lim.MaxEntries {
		return refuse("", "the archive holds more than %d entries", v.lim.MaxEntries)
	}
	if err := reserved(hdr.Name); err != nil {
		return err
	}
	var over *Error
	switch {
	case hdr.Size > v.lim.MaxEntryBytes:
		over = refuse(hdr.Name, "the entry is larger than the limit of %s", formatBytes(v.lim.MaxEntryBytes))
	case hdr.Size > v.lim.MaxTotalBytes-v.total:
		over = refuse(hdr.Name, "the entries add up to more than the limit of %s", formatBytes(v.lim.MaxTotalBytes))
	}
	if over != nil {
		over.OverLimit = true
		return over
	}
	v.total += hdr.Size
	h := sha256.New()
	if _, err := io.Copy(h, tr); err != nil {
		return contentError(hdr.Name, err)
	}
	v.seen = append(v.seen, Entry{Name: hdr.Name, Size: hdr.Size, SHA256: sumHex(h.Sum(nil))})
	return nil
}

// readManifest reads the manifest into memory, within the bound its entries allow.
func (v *verifier) readManifest(tr *tar.Reader, hdr *tar.Header) error {
	if limit := maxManifestBytes(v.seen); hdr.Size > limit {
		return refuse(ManifestName, "the manifest is larger than the %d bytes its %d entries allow", limit, len(v.seen))
	}
	data := make([]byte, hdr.Size)
	if _, err := io.ReadFull(tr, data); err != nil {
		return contentError(ManifestName, err)
	}
	v.manifest = data
	v.end = v.src.n
	return nil
}

// checkEnd requires the whole tar trailer after the manifest, then nothing but zero bytes.
func (v *verifier) checkEnd() error {
	padded := (v.end + blockSize - 1) / blockSize * blockSize
	if v.src.n < padded+2*blockSize {
		return refuse("", "the archive is truncated: its end-of-archive marker is incomplete")
	}
	n, err := io.Copy(zeroChecker{}, io.LimitReader(v.src, maxTrailingZero+1))
	switch {
	case errors.Is(err, errNotZero):
		return refuse("", "the archive has data after its end")
	case err != nil:
		return err
	case n > maxTrailingZero:
		return refuse("", "the archive is followed by more than %s of padding", formatBytes(maxTrailingZero))
	}
	return nil
}

// nextHeader reads the next header, turning tar's complaints into refusals. after is the entry
// before it, to say where the damage is.
func nextHeader(tr *tar.Reader, after string) (*tar.Header, error) {
	hdr, err := tr.Next()
	var src *sourceError
	switch {
	case err == nil, errors.Is(err, tar.ErrInsecurePath) && hdr != nil:
		return hdr, nil // names are checked here, more strictly than archive/tar does
	case err == io.EOF, errors.As(err, &src):
		return nil, err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, refuse("", "the archive is truncated")
	case after == "":
		return nil, refuse("", "the input is not a tar archive (%v)", err)
	}
	return nil, refuse("", "the header after entry %q is corrupt (%v)", after, err)
}

// checkHeader refuses anything but a regular file with a safe name.
func checkHeader(hdr *tar.Header) error {
	if err := checkName(hdr.Name); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeReg {
		return refuse(hdr.Name, "the entry is not a regular file (tar type %q)", hdr.Typeflag)
	}
	for key := range hdr.PAXRecords {
		if strings.HasPrefix(key, "GNU.sparse.") {
			return refuse(hdr.Name, "the entry is a sparse file")
		}
	}
	return nil
}

// contentError turns a failure reading an entry's content into a refusal when the archive is at
// fault.
func contentError(name string, err error) error {
	var src *sourceError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return refuse(name, "the archive is truncated inside the entry")
	case errors.As(err, &src):
		return err
	}
	return refuse(name, "the entry cannot be read: %v", err)
}

// source counts what is read from the caller's reader and marks its failures, so they are not
// mistaken for a malformed archive.
type source struct {
	r io.Reader
	n int64
}

func (s *source) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	if err != nil && err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) {
		return n, &sourceError{err: err}
	}
	return n, err
}

// blame returns err as the caller should see it: the reader's own failure unwrapped from its
// mark, an *Error as it is.
func blame(err error) error {
	var src *sourceError
	if errors.As(err, &src) {
		return fmt.Errorf("reading the backup archive: %w", src.err)
	}
	return err
}

// sourceError marks a failure of the caller's reader.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

// errNotZero stops the copy at the first non-zero byte after the archive.
var errNotZero = errors.New("non-zero byte")

// zeroChecker is a writer that accepts only zero bytes.
type zeroChecker struct{}

func (zeroChecker) Write(p []byte) (int, error) {
	for i, b := range p {
		if b != 0 {
			return i, errNotZero
		}
	}
	return len(p), nil
}
