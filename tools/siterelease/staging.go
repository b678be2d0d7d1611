package siterelease

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
)

// Staging is a release being built file by file (a backup's site being restored) rather
// than from an uploaded zip: files go into a staging directory, and Publish makes it the live
// release exactly as Install does. Nothing is live until Publish; Discard drops it.
type Staging struct {
	s     *Store
	dir   string
	root  *os.Root
	files int
	bytes int64
}

// Stage starts a new release.
func (s *Store) Stage() (*Staging, error) {
	dir := filepath.Join(s.dir, releasesDir, ".staging-"+randomHex(8))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("preparing release: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("preparing release: %w", err)
	}
	return &Staging{s: s, dir: dir, root: root}, nil
}

// Add writes one file at name, a slash-separated relative path; os.Root keeps every name
// inside the release. Limits apply as to an uploaded archive.
func (st *Staging) Add(name string, r io.Reader) error {
	if st.files >= st.s.limits.MaxFiles {
		return refuse("the site has more than %d files", st.s.limits.MaxFiles)
	}
	if parent := path.Dir(name); parent != "." {
		if err := st.root.MkdirAll(parent, 0o755); err != nil {
			return fmt.Errorf("creating directory %q: %w", parent, err)
		}
	}
	f, err := st.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("creating %q: %w", name, err)
	}
	n, err := io.Copy(f, io.LimitReader(r, st.s.limits.MaxTotalBytes-st.bytes+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %q: %w", name, err)
	}
	st.files++
	st.bytes += n
	if st.bytes > st.s.limits.MaxTotalBytes {
		return refuse("the site holds more than %s", formatBytes(st.s.limits.MaxTotalBytes))
	}
	return nil
}

// Publish makes the staged files the live release and prunes old ones, as Install does.
func (st *Staging) Publish() (Release, error) {
	_ = st.root.Close()
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	rel, err := st.s.publish(st.dir, st.files, st.bytes)
	if err != nil {
		_ = os.RemoveAll(st.dir)
	}
	return rel, err
}

// Discard removes the staged files; it is safe after Publish, when nothing is left to remove.
func (st *Staging) Discard() {
	_ = st.root.Close()
	_ = os.RemoveAll(st.dir)
}
