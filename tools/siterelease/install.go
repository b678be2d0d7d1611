package siterelease

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Install reads a zip archive from r, checks it, extracts it as a new release, makes that
// release live and prunes old ones, keeping the newest Keep plus the live one. A refused
// archive gives an *Error. On any error the live site is unchanged and no temporary file or
// directory is left behind.
//
// Reading, checking and extracting happen outside the Store's lock, so a slow upload does
// not hold up other calls; only the final switch is serialised.
func (s *Store) Install(r io.Reader) (Release, error) {
	archive, size, err := s.spool(r)
	if err != nil {
		return Release{}, err
	}
	defer removeFile(archive)
	zr, err := zip.NewReader(archive, size)
	// ErrInsecurePath only reports names planExtraction refuses anyway (GODEBUG=zipinsecurepath=0).
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return Release{}, refuse("the upload is not a valid zip archive")
	}
	entries, err := planExtraction(zr.File, s.limits)
	if err != nil {
		return Release{}, err
	}
	staging := filepath.Join(s.dir, releasesDir, ".staging-"+randomHex(8))
	if err := os.Mkdir(staging, 0o755); err != nil {
		return Release{}, fmt.Errorf("preparing release: %w", err)
	}
	defer os.RemoveAll(staging) // nothing left to remove once publish has renamed it
	files, bytes, err := extract(staging, entries)
	if err != nil {
		return Release{}, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publish(staging, files, bytes)
}

// spool copies the upload to a temporary file, because a zip is read from its end and r may be
// a network stream. It refuses uploads over MaxArchiveBytes without storing more than that.
func (s *Store) spool(r io.Reader) (*os.File, int64, error) {
	f, err := os.CreateTemp(s.dir, ".upload-*.zip")
	if err != nil {
		return nil, 0, fmt.Errorf("storing the upload: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(r, s.limits.MaxArchiveBytes+1))
	if errors.Is(err, io.ErrUnexpectedEOF) {
		// The sender stopped before the length it announced: its mistake (or its network's),
		// answered like any other refused archive rather than as our failure.
		removeFile(f)
		return nil, 0, refuse("the upload was cut short after %s", formatBytes(n))
	}
	if err != nil {
		removeFile(f)
		return nil, 0, fmt.Errorf("reading the upload: %w", err)
	}
	if n > s.limits.MaxArchiveBytes {
		removeFile(f)
		e := refuse("the archive is larger than the limit of %s", formatBytes(s.limits.MaxArchiveBytes))
		e.TooLarge = true
		return nil, 0, e
	}
	return f, n, nil
}

// removeFile closes and deletes a temporary file; failures leave only a stray file behind,
// which is not worth failing a request over.
func removeFile(f *os.File) {
	_ = f.Close()
	_ = os.Remove(f.Name())
}

// publish turns an extracted staging directory into the live release; the caller holds s.mu.
// Each step is undone if a later one fails, so a failed publish leaves everything as it was.
func (s *Store) publish(staging string, files int, bytes int64) (Release, error) {
	rels, err := s.list()
	if err != nil {
		return Release{}, err
	}
	var newest time.Time
	if len(rels) > 0 {
		newest = rels[0].CreatedAt
	}
	created := releaseTime(time.Now(), newest)
	rel := Release{ID: releaseID(created), CreatedAt: created, Files: files, Bytes: bytes}
	dir := s.releasePath(rel.ID)
	if err := os.Rename(staging, dir); err != nil {
		return Release{}, fmt.Errorf("preparing release: %w", err)
	}
	if err := s.writeMeta(rel); err != nil {
		_ = os.RemoveAll(dir) // best effort undo; the write error is the one worth reporting
		return Release{}, err
	}
	if err := s.switchTo(rel.ID); err != nil {
		_ = os.Remove(s.metaPath(rel.ID)) // best effort undo, as above
		_ = os.RemoveAll(dir)
		return Release{}, err
	}
	// The new release is live whatever pruning does; a release it fails to remove is simply
	// tried again by the next install.
	_ = s.prune()
	rel.Current = true
	return rel, nil
}

// prune removes releases beyond the newest Keep, never the live one, so the directory does not
// grow with every upload. Metadata goes first, so a half-removed release is no longer listed.
func (s *Store) prune() error {
	rels, err := s.list()
	if err != nil {
		return err
	}
	var errs []error
	for i, rel := range rels {
		if i < Keep || rel.Current {
			continue
		}
		if err := os.Remove(s.metaPath(rel.ID)); err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, os.RemoveAll(s.releasePath(rel.ID)))
	}
	return errors.Join(errs...)
}
