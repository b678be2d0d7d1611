package backuparchive

import (
	"archive/tar"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"time"
)

// Options tune a Writer; the zero value is ready to use.
type Options struct {
	// Limits are the writer's own: it refuses an entry that would make Verify refuse the
	// archive under the same limits.
	Limits Limits
	// SpoolDir is where Create keeps an entry larger than SpoolMemoryBytes until its size is
	// known; empty means os.TempDir().
	SpoolDir string
	// SpoolMemoryBytes is how much of an entry Create keeps in memory before it spools to a file;
	// zero or negative means 1 MiB.
	SpoolMemoryBytes int
}

// Writer writes one archive to a stream, entry by entry, and the manifest on Close. It is not
// safe for concurrent use. After a failure that leaves the stream inconsistent (a write error,
// a reader that gives fewer or more bytes than announced) every later call returns that failure.
type Writer struct {
	tw      *tar.Writer
	opt     Options
	lim     Limits
	created time.Time
	source  map[string]string
	counts  map[string]int
	entries []Entry
	names   *nameSet
	total   int64
	open    string // the name of the entry Create returned and that is not closed yet
	err     error  // sticky
	closed  bool
}

// NewWriter starts an archive on w, which the Writer never closes. source is copied into the
// manifest as it is (say, the backend's name and the server's version); createdAt is now.
func NewWriter(w io.Writer, source map[string]string, opt Options) *Writer {
	src := maps.Clone(source)
	if src == nil {
		src = map[string]string{}
	}
	return &Writer{
		tw:      tar.NewWriter(w),
		opt:     opt,
		lim:     opt.Limits.withDefaults(),
		created: time.Now().UTC(),
		source:  src,
		counts:  map[string]int{},
		names:   newNameSet(),
	}
}

// Add writes one entry of a known size, streaming r straight into the archive. r must give
// exactly size bytes; more or fewer is an error that ends the archive.
func (w *Writer) Add(name string, size int64, r io.Reader) error {
	if err := w.reserve(name, size); err != nil {
		return err
	}
	return w.writeEntry(name, size, r)
}

// Count adds n to the count of kind in the manifest (documents, users, files …); a kind counted
// only with 0 still appears.
func (w *Writer) Count(kind string, n int) {
	w.counts[kind] += n
}

// Close writes the manifest and the end of the archive. It does not close the underlying
// writer.
func (w *Writer) Close() error {
	if err := w.usable(); err != nil {
		return err
	}
	w.closed = true
	m := Manifest{
		Format:    Format,
		Version:   Version,
		CreatedAt: w.created,
		Source:    w.source,
		Counts:    w.counts,
		Entries:   w.entries,
	}
	if m.Entries == nil {
		m.Entries = []Entry{}
	}
	data, err := encodeManifest(m)
	if err != nil {
		return w.fail(err)
	}
	if limit := maxManifestBytes(w.entries); int64(len(data)) > limit {
		return w.fail(fmt.Errorf("the manifest takes %d bytes, more than the %d its entries allow: the source or counts are too large", len(data), limit))
	}
	if err := w.tw.WriteHeader(w.header(ManifestName, int64(len(data)))); err != nil {
		return w.fail(fmt.Errorf("writing the manifest's header: %w", err))
	}
	if _, err := w.tw.Write(data); err != nil {
		return w.fail(fmt.Errorf("writing the manifest: %w", err))
	}
	if err := w.tw.Close(); err != nil {
		return w.fail(fmt.Errorf("ending the archive: %w", err))
	}
	return nil
}

// usable refuses a call on a writer that failed, is closed, or has an entry open.
func (w *Writer) usable() error {
	switch {
	case w.err != nil:
		return w.err
	case w.closed:
		return errors.New("backup archive: the writer is closed")
	case w.open != "":
		return fmt.Errorf("backup archive: entry %q is still being written", w.open)
	}
	return nil
}

// reserve checks a new entry's name and size against the rules and limits and records the
// name, so nothing is written for an entry that would be refused.
func (w *Writer) reserve(name string, size int64) error {
	if err := w.usable(); err != nil {
		return err
	}
	if err := checkName(name); err != nil {
		return err
	}
	if len(w.entries) >= w.lim.MaxEntries {
		return refuse(name, "the archive would hold more than %d entries", w.lim.MaxEntries)
	}
	if err := w.checkSize(name, size); err != nil {
		return err
	}
	return w.names.add(name)
}

// checkSize refuses a size over the entry or total limits.
func (w *Writer) checkSize(name string, size int64) error {
	switch {
	case size < 0:
		return refuse(name, "the size %d is negative", size)
	case size > w.lim.MaxEntryBytes:
		return refuse(name, "the entry is larger than the limit of %s", formatBytes(w.lim.MaxEntryBytes))
	case size > w.lim.MaxTotalBytes-w.total:
		return refuse(name, "the entries would add up to more than the limit of %s", formatBytes(w.lim.MaxTotalBytes))
	}
	return nil
}

// writeEntry writes a reserved entry's header and exactly size bytes of r, and lists it.
func (w *Writer) writeEntry(name string, size int64, r io.Reader) error {
	if err := w.tw.WriteHeader(w.header(name, size)); err != nil {
		return w.fail(fmt.Errorf("writing the header of %q: %w", name, err))
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w.tw, h), io.LimitReader(r, size))
	switch {
	case err != nil:
		return w.fail(fmt.Errorf("writing %q: %w", name, err))
	case n < size:
		return w.fail(fmt.Errorf("writing %q: its reader gave %d bytes, not the %d announced", name, n, size))
	}
	var probe [1]byte
	if k, _ := io.ReadFull(r, probe[:]); k > 0 {
		return w.fail(fmt.Errorf("writing %q: its reader gave more than the %d bytes announced", name, size))
	}
	w.total += size
	w.entries = append(w.entries, Entry{Name: name, Size: size, SHA256: sumHex(h.Sum(nil))})
	return nil
}

// header is the tar header of every entry: a regular file, readable by its owner only.
func (w *Writer) header(name string, size int64) *tar.Header {
	return &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Size:     size,
		Mode:     0o600,
		ModTime:  w.created.Truncate(time.Second),
		Format:   tar.FormatPAX,
	}
}

// fail makes err sticky: the archive written so far cannot be completed.
func (w *Writer) fail(err error) error {
	w.err = err
	return err
}
