package core

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// restoreDirs are a restore's two directories in the files root: new holds the archive's
// files until they replace the present ones, old the present ones once replaced, until the
// restore ends (or the undo brings them back). Names starting with "." are never users'.
type restoreDirs struct {
	base string
	// swapped is set once swapIn began moving directories.
	swapped bool
	// keep leaves both directories for the operator when an undo failed.
	keep bool
}

func (fs *fileStore) newRestoreDirs() *restoreDirs {
	return &restoreDirs{base: ".restore-" + strings.TrimPrefix(randomName(), TempDir+"/")}
}

func (d *restoreDirs) newDir() string { return d.base + "/new" }
func (d *restoreDirs) oldDir() string { return d.base + "/old" }

// outDir receives, when a restore is undone, what it had moved into place.
func (d *restoreDirs) outDir() string { return d.base + "/out" }

// stage writes one file's bytes (rest is owner/filename) into the new directory.
func (d *restoreDirs) stage(fs *fileStore, rest string, body io.Reader) (int64, error) {
	path := d.newDir() + "/" + rest
	if err := fs.root.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return 0, fmt.Errorf("stage %s: %w", rest, err)
	}
	f, err := fs.root.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("stage %s: %w", rest, err)
	}
	n, err := io.Copy(f, body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("stage %s: %w", rest, err)
	}
	return n, nil
}

// cleanup removes both directories, unless they are kept.
func (d *restoreDirs) cleanup(fs *fileStore) {
	if !d.keep {
		_ = fs.root.RemoveAll(d.base)
	}
}

// swapIn moves every user's directory into old, then every staged one into place. Each move
// is a rename within one filesystem; a failure puts back what moved.
func (fs *fileStore) swapIn(d *restoreDirs) error {
	if err := fs.root.MkdirAll(d.newDir(), 0o700); err != nil {
		return fmt.Errorf("swap files: %w", err)
	}
	if err := fs.root.MkdirAll(d.oldDir(), 0o700); err != nil {
		return fmt.Errorf("swap files: %w", err)
	}
	d.swapped = true
	err := fs.moveUserDirs(".", d.oldDir())
	if err == nil {
		err = fs.moveUserDirs(d.newDir(), ".")
	}
	if err != nil {
		if uerr := fs.swapOut(d); uerr != nil {
			return fmt.Errorf("swap files: %w (and putting them back: %v)", err, uerr)
		}
		return fmt.Errorf("swap files: %w", err)
	}
	return nil
}

// swapOut undoes swapIn, whole or in part: whatever user directory is in place moves out of
// the way, and whatever is in old comes back. Before swapIn, there is nothing to undo.
func (fs *fileStore) swapOut(d *restoreDirs) error {
	if !d.swapped {
		return nil
	}
	if err := fs.root.MkdirAll(d.outDir(), 0o700); err != nil {
		return fmt.Errorf("put files back: %w", err)
	}
	if err := fs.moveUserDirs(".", d.outDir()); err != nil {
		return fmt.Errorf("put files back: %w", err)
	}
	if err := fs.moveUserDirs(d.oldDir(), "."); err != nil {
		return fmt.Errorf("put files back: %w", err)
	}
	return nil
}

// moveUserDirs renames every entry of from whose name does not start with "." into to.
func (fs *fileStore) moveUserDirs(from, to string) error {
	dir, err := fs.root.Open(from)
	if err != nil {
		return err
	}
	entries, err := dir.ReadDir(-1)
	_ = dir.Close()
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if err := fs.root.Rename(filepath.Join(from, e.Name()), filepath.Join(to, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// removeTemp deletes a file of the files root, such as a snapshot.
func (fs *fileStore) removeTemp(name string) { _ = fs.root.Remove(name) }

// tempDirPath is the temp directory as a path, for writers that spool there.
func (fs *fileStore) tempDirPath() string { return filepath.Join(fs.dir, TempDir) }
