package backuparchive

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// Create starts an entry whose size is not known in advance (a collection's documents as JSON
// lines, say). Tar needs the size before the content, so what is written is kept in memory up
// to Options.SpoolMemoryBytes and beyond that in a temporary file in Options.SpoolDir; closing
// the returned writer writes the entry into the archive. Only one entry may be open at a time.
// The temporary file is unlinked as soon as it is created where the system allows it, so an
// abandoned entry leaves nothing behind once its writer is garbage.
func (w *Writer) Create(name string) (io.WriteCloser, error) {
	if err := w.reserve(name, 0); err != nil {
		return nil, err
	}
	w.open = name
	limit := w.opt.SpoolMemoryBytes
	if limit <= 0 {
		limit = 1 * mib
	}
	return &spool{w: w, name: name, memLimit: limit}, nil
}

// spool is an entry being written by Create: in buf until it outgrows memLimit, then in file.
type spool struct {
	w        *Writer
	name     string
	memLimit int
	buf      bytes.Buffer
	file     *os.File
	unlinked bool // the file is already removed from its directory
	size     int64
	err      error
	done     bool
}

// Write keeps p until Close, refusing an entry that grows over the writer's limits.
func (s *spool) Write(p []byte) (int, error) {
	switch {
	case s.done:
		return 0, fmt.Errorf("backup archive: entry %q is closed", s.name)
	case s.err != nil:
		return 0, s.err
	}
	if err := s.w.checkSize(s.name, s.size+int64(len(p))); err != nil {
		s.err = err
		return 0, err
	}
	if s.file == nil && s.buf.Len()+len(p) > s.memLimit {
		if err := s.spill(); err != nil {
			s.err = err
			return 0, err
		}
	}
	var n int
	var err error
	if s.file != nil {
		n, err = s.file.Write(p)
	} else {
		n, err = s.buf.Write(p)
	}
	s.size += int64(n)
	if err != nil {
		s.err = fmt.Errorf("spooling entry %q: %w", s.name, err)
		return n, s.err
	}
	return n, nil
}

// spill moves what is in memory to a temporary file, which takes the rest.
func (s *spool) spill() error {
	f, err := os.CreateTemp(s.w.opt.SpoolDir, "backuparchive-*")
	if err != nil {
		return fmt.Errorf("spooling entry %q: %w", s.name, err)
	}
	s.file = f
	s.unlinked = os.Remove(f.Name()) == nil
	if _, err := s.buf.WriteTo(f); err != nil {
		return fmt.Errorf("spooling entry %q: %w", s.name, err)
	}
	s.buf = bytes.Buffer{}
	return nil
}

// Close writes the entry into the archive and frees the spool. After a failed Write, Close
// fails too and the archive cannot be completed, since its entry was promised.
func (s *spool) Close() error {
	if s.done {
		return fmt.Errorf("backup archive: entry %q is closed", s.name)
	}
	s.done = true
	s.w.open = ""
	err := s.commit()
	if s.file != nil {
		err = errors.Join(err, s.release())
	}
	if err != nil {
		return s.w.fail(err)
	}
	return nil
}

// commit copies what was spooled into the archive.
func (s *spool) commit() error {
	if s.err != nil {
		return s.err
	}
	var r io.Reader = &s.buf
	if s.file != nil {
		if _, err := s.file.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("rereading the spool of %q: %w", s.name, err)
		}
		r = s.file
	}
	return s.w.writeEntry(s.name, s.size, r)
}

// release closes and, if it could not be unlinked earlier, removes the spool file.
func (s *spool) release() error {
	err := s.file.Close()
	if !s.unlinked {
		err = errors.Join(err, os.Remove(s.file.Name()))
	}
	if err != nil {
		return fmt.Errorf("removing the spool of %q: %w", s.name, err)
	}
	return nil
}
