package siterelease

import (
	"fmt"
	"io"
	"os"
	"path"
)

// extract writes the planned entries into dir and returns how many files and bytes it wrote.
// All writes go through os.Root, so even a name that slipped past validation cannot reach
// outside dir.
func extract(dir string, entries []entry) (files int, bytes int64, err error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0, 0, err
	}
	defer root.Close()
	for _, e := range entries {
		if e.dir {
			if err := root.MkdirAll(e.name, 0o755); err != nil {
				return 0, 0, fmt.Errorf("creating directory %q: %w", e.name, err)
			}
			continue
		}
		if parent := path.Dir(e.name); parent != "." {
			if err := root.MkdirAll(parent, 0o755); err != nil {
				return 0, 0, fmt.Errorf("creating directory %q: %w", parent, err)
			}
		}
		n, err := extractFile(root, e)
		if err != nil {
			return 0, 0, err
		}
		files++
		bytes += n
	}
	return files, bytes, nil
}

// extractFile copies one file out of the archive. The declared size was checked against the
// limits, but it can lie (a zip bomb), so at most one byte more than declared is read, and a
// file that yields more than it declared is refused. archive/zip currently reports such a file
// as malformed by itself; the bound here does not depend on that. Since no file exceeds its
// declared size, the total written stays within the declared total checked in planning.
func extractFile(root *os.Root, e entry) (int64, error) {
	declared := int64(e.file.UncompressedSize64) // at most Limits.MaxFileBytes, checked in planning
	rc, err := e.file.Open()
	if err != nil {
		return 0, refuse("file %q is corrupt", e.file.Name)
	}
	defer rc.Close()
	out, err := root.OpenFile(e.name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, fmt.Errorf("creating file %q: %w", e.name, err)
	}
	src := &errRecorder{r: io.LimitReader(rc, declared+1)}
	n, copyErr := io.Copy(out, src)
	closeErr := out.Close()
	switch {
	case src.err != nil:
		return 0, refuse("file %q is corrupt", e.file.Name)
	case copyErr != nil:
		return 0, fmt.Errorf("writing file %q: %w", e.name, copyErr)
	case n > declared:
		return 0, refuse("file %q holds more data than its header declares", e.file.Name)
	case closeErr != nil:
		return 0, fmt.Errorf("writing file %q: %w", e.name, closeErr)
	}
	return n, nil
}

// errRecorder remembers the error of the archive side of a copy, so a corrupt archive (the
// user's fault) is told apart from a failed write (the server's).
type errRecorder struct {
	r   io.Reader
	err error
}

func (r *errRecorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}
