package siterelease

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

const (
	releasesDir = "releases" // under the site directory: <ID>/ and <ID>.json per release
	currentLink = "current"  // the symlink nginx serves
)

// Store manages one site directory:
//
//	releases/<ID>/      extracted files of a release
//	releases/<ID>.json  its metadata
//	current             symlink to releases/<ID> (relative), the live release
//
// Readers of current always see a complete release, because it only ever changes by an atomic
// rename. A Store serialises its own changes; two Stores on one directory must not install at
// the same time.
type Store struct {
	dir    string
	limits Limits
	mu     sync.Mutex // held while releases/ or current change, and while they are read
}

// Open prepares dir for releases, creating dir/releases if missing, so a fresh backend can
// take its first upload without any setup.
func Open(dir string, lim Limits) (*Store, error) {
	if err := os.MkdirAll(filepath.Join(dir, releasesDir), 0o755); err != nil {
		return nil, fmt.Errorf("preparing site directory: %w", err)
	}
	removeLeftovers(dir)
	return &Store{dir: dir, limits: lim.withDefaults()}, nil
}

// removeLeftovers deletes what an install interrupted by a crash left behind: spooled uploads
// and half-extracted staging directories. Nothing live is named like them.
func removeLeftovers(dir string) {
	for _, pattern := range []string{filepath.Join(dir, ".upload-*.zip"), filepath.Join(dir, releasesDir, ".staging-*")} {
		matches, _ := filepath.Glob(pattern)
		for _, m := range matches {
			_ = os.RemoveAll(m)
		}
	}
}

// List returns every installed release, newest first, with the live one flagged, so a user can
// see what a rollback would return to.
func (s *Store) List() ([]Release, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.list()
}

// Current returns the live release; ok is false while nothing has been installed.
func (s *Store) Current() (rel Release, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := s.currentID()
	if err != nil || id == "" {
		return Release{}, false, err
	}
	rel, err = s.readMeta(id)
	if err != nil {
		return Release{}, false, err
	}
	rel.Current = true
	return rel, true, nil
}

// OpenCurrent opens the live release's files for reading (a backup walks them), through an
// os.Root so nothing read can lead outside the release; ok is false while nothing has been
// installed. The caller closes the root. A release made live later does not change what the
// root shows.
func (s *Store) OpenCurrent() (rel Release, root *os.Root, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := s.currentID()
	if err != nil || id == "" {
		return Release{}, nil, false, err
	}
	if rel, err = s.readMeta(id); err != nil {
		return Release{}, nil, false, err
	}
	if root, err = os.OpenRoot(s.releasePath(id)); err != nil {
		return Release{}, nil, false, fmt.Errorf("opening release %s: %w", id, err)
	}
	rel.Current = true
	return rel, root, true, nil
}

// Rollback makes the release just older than the live one live again, undoing a bad upload.
// The newer releases stay on disk and in List until a later install prunes them.
func (s *Store) Rollback() (Release, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rels, err := s.list()
	if err != nil {
		return Release{}, err
	}
	i := slices.IndexFunc(rels, func(r Release) bool { return r.Current })
	if i < 0 {
		return Release{}, refuse("there is no current release to roll back from")
	}
	if i+1 >= len(rels) {
		return Release{}, refuse("there is no earlier release to roll back to")
	}
	prev := rels[i+1]
	if err := s.switchTo(prev.ID); err != nil {
		return Release{}, err
	}
	prev.Current = true
	return prev, nil
}

// list reads the metadata of every release, newest first; the caller holds s.mu.
func (s *Store) list() ([]Release, error) {
	dirents, err := os.ReadDir(filepath.Join(s.dir, releasesDir))
	if err != nil {
		return nil, err
	}
	current, err := s.currentID()
	if err != nil {
		return nil, err
	}
	var rels []Release
	for _, d := range dirents {
		id, isMeta := strings.CutSuffix(d.Name(), ".json")
		if !isMeta || !idPattern.MatchString(id) {
			continue
		}
		rel, err := s.readMeta(id)
		if err != nil {
			return nil, err
		}
		rel.Current = id == current
		rels = append(rels, rel)
	}
	slices.SortFunc(rels, func(a, b Release) int { return strings.Compare(b.ID, a.ID) })
	return rels, nil
}

// currentID returns the ID the current link points to, or "" when there is no link yet.
func (s *Store) currentID() (string, error) {
	target, err := os.Readlink(filepath.Join(s.dir, currentLink))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	id, ok := strings.CutPrefix(target, releasesDir+"/")
	if !ok || !idPattern.MatchString(id) {
		return "", fmt.Errorf("%s points to %q, which is not a release", currentLink, target)
	}
	return id, nil
}

// switchTo points current at a release. The new link is made under a temporary name and
// renamed over the old one, which POSIX guarantees is atomic: nginx sees the old or the new
// release, never a missing one.
func (s *Store) switchTo(id string) error {
	tmp := filepath.Join(s.dir, currentLink+".tmp-"+randomHex(6))
	if err := os.Symlink(releasesDir+"/"+id, tmp); err != nil {
		return fmt.Errorf("switching release: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, currentLink)); err != nil {
		_ = os.Remove(tmp) // best effort; the rename error is the one worth reporting
		return fmt.Errorf("switching release: %w", err)
	}
	return nil
}

// metaPath is where a release's metadata lives.
func (s *Store) metaPath(id string) string {
	return filepath.Join(s.dir, releasesDir, id+".json")
}

// releasePath is where a release's files live.
func (s *Store) releasePath(id string) string {
	return filepath.Join(s.dir, releasesDir, id)
}

// readMeta loads a release's metadata.
func (s *Store) readMeta(id string) (Release, error) {
	data, err := os.ReadFile(s.metaPath(id))
	if err != nil {
		return Release{}, err
	}
	var rel Release
	if err := json.Unmarshal(data, &rel); err != nil {
		return Release{}, fmt.Errorf("reading metadata of release %s: %w", id, err)
	}
	return rel, nil
}

// writeMeta stores a release's metadata under a temporary name first, so List never reads a
// half-written file. Current is not stored: the link alone says which release is live.
func (s *Store) writeMeta(rel Release) error {
	rel.Current = false
	data, err := json.MarshalIndent(rel, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.dir, releasesDir, ".meta-"+randomHex(6))
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		_ = os.Remove(tmp) // best effort; the write error is the one worth reporting
		return fmt.Errorf("writing release metadata: %w", err)
	}
	if err := os.Rename(tmp, s.metaPath(rel.ID)); err != nil {
		_ = os.Remove(tmp) // best effort; the rename error is the one worth reporting
		return fmt.Errorf("writing release metadata: %w", err)
	}
	return nil
}
