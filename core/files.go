package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/backpackhq/backpack/tools/keylock"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/backpackhq/backpack/tools/docstore"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// metaFiles records uploaded files; the bytes live on disk under FilesDir/OWNER/FILENAME.
const metaFiles = "_files"

// TempDir is where uploads are written before they are given their name. It is inside the
// files root, so the final rename stays on one filesystem and is atomic; user directories are
// 24-hex ids, so it cannot collide with one.
const TempDir = ".tmp"

// OrphanAge is how old a file with no metadata must be before an upload may replace it. Such a
// file is left by a crash between renaming and recording; a younger one may be another
// replica's upload about to be recorded.
const OrphanAge = time.Minute

// FileMeta is a file's metadata as stored.
type FileMeta struct {
	ID          bson.ObjectID `bson:"_id"`
	Owner       string        `bson:"owner"`
	Filename    string        `bson:"filename"`
	Bucket      string        `bson:"bucket"`
	Size        int64         `bson:"size"`
	ContentType string        `bson:"contentType"`
	CreatedAt   string        `bson:"_createdAt"`
	UpdatedAt   string        `bson:"_updatedAt"`
}

// FileJSON is a file's metadata as clients see it.
type FileJSON struct {
	ID          string `json:"_id"`
	Owner       string `json:"owner"`
	Filename    string `json:"filename"`
	Bucket      string `json:"bucket"`
	Size        int64  `json:"size"`
	ContentType string `json:"contentType"`
	CreatedAt   string `json:"_createdAt"`
	UpdatedAt   string `json:"_updatedAt"`
}

// Public is the metadata as clients see it.
func (m FileMeta) Public() FileJSON {
	return FileJSON{ID: m.ID.Hex(), Owner: m.Owner, Filename: m.Filename, Bucket: m.Bucket, Size: m.Size,
		ContentType: m.ContentType, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
}

// fileStore keeps file bytes and metadata in step. Every path goes through an os.Root opened
// on the files directory, so no name — however crafted — can reach outside it, and every change
// is ordered so that a failure at any step leaves the bytes and the metadata agreeing.
type fileStore struct {
	dir   string
	root  *os.Root
	meta  docstore.Collection
	locks keylock.Locks // per owner: two requests of one user cannot interleave their steps
}

func newFileStore(dir string, store docstore.Store) (*fileStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("files dir %s: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("files dir %s: %w", dir, err)
	}
	if err := root.MkdirAll(TempDir, 0o700); err != nil {
		_ = root.Close()
		return nil, fmt.Errorf("files temp dir: %w", err)
	}
	return &fileStore{dir: dir, root: root, meta: store.Collection(metaFiles)}, nil
}

// close releases the files directory; the local runtime starts and stops many backends in one
// process, so nothing may stay open after a replica closes.
func (fs *fileStore) close() error { return fs.root.Close() }

func (fs *fileStore) ensureIndexes(ctx context.Context) error {
	err := ensureIndex(ctx, fs.meta, docstore.Index{Name: "owner_filename_unique", Fields: []string{"owner", "filename"}, Unique: true})
	if err != nil {
		return fmt.Errorf("files index: %w", err)
	}
	return nil
}

func filePath(owner, filename string) string { return owner + "/" + filename }

func randomName() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return TempDir + "/" + hex.EncodeToString(b)
}

// Upload is a file received into the temp directory, not yet named.
type Upload struct {
	tempPath string
	// Size is the number of bytes received.
	Size int64
	// Head is the first bytes, up to 512, for sniffing the content type.
	Head []byte
}

// ReceiveFile streams r into a new temp file, stopping at max+1 bytes: a larger upload is
// refused (TooLarge, payload_too_large) and its partial file removed. The upload is then named
// by CreateFile or OverwriteFile, or dropped with DiscardUpload.
func (s *Service) ReceiveFile(r io.Reader, max int64) (*Upload, error) {
	return s.files.receive(r, max)
}

// DiscardUpload removes an upload's temp file; it is safe to call more than once, and with nil.
func (s *Service) DiscardUpload(up *Upload) { s.files.discard(up) }

func (fs *fileStore) receive(r io.Reader, max int64) (*Upload, error) {
	up := &Upload{tempPath: randomName()}
	f, err := fs.root.OpenFile(up.tempPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create temp file: %w", err)
	}
	head := &headRecorder{limit: 512}
	n, err := io.Copy(f, io.TeeReader(io.LimitReader(r, max+1), head))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > max {
		err = &Error{Kind: TooLarge, Code: "payload_too_large",
			Message: fmt.Sprintf("the file is larger than the limit of %d bytes", max), Details: map[string]any{"limit": max}}
	}
	if err != nil {
		fs.discard(up)
		return nil, err
	}
	up.Size, up.Head = n, head.buf
	return up, nil
}

// discard removes an upload's temp file; it is safe to call more than once.
func (fs *fileStore) discard(up *Upload) {
	if up != nil {
		_ = fs.root.Remove(up.tempPath)
	}
}

type headRecorder struct {
	buf   []byte
	limit int
}

func (h *headRecorder) Write(p []byte) (int, error) {
	if room := h.limit - len(h.buf); room > 0 {
		h.buf = append(h.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (fs *fileStore) find(ctx context.Context, owner, filename string) (FileMeta, error) {
	var m FileMeta
	err := findOne(ctx, fs.meta, bson.D{{Key: "owner", Value: owner}, {Key: "filename", Value: filename}}, docstore.FindOptions{}, &m)
	if errors.Is(err, docstore.ErrNotFound) {
		return m, ErrFileNotFound
	}
	if err != nil {
		return m, fmt.Errorf("find file: %w", err)
	}
	return m, nil
}

// claimName gives the bytes at from the new path to without ever replacing another file: a
// hard link fails if the name exists. A name held by an old file with no metadata (a crash
// leftover) is reclaimed.
func (fs *fileStore) claimName(ctx context.Context, owner, from, to string) error {
	err := fs.root.Link(from, filePath(owner, to))
	if !errors.Is(err, os.ErrExist) {
		return err
	}
	if _, ferr := fs.find(ctx, owner, to); ferr == nil {
		return ErrFileExists
	}
	info, serr := fs.root.Stat(filePath(owner, to))
	if serr != nil || time.Since(info.ModTime()) < OrphanAge {
		return ErrFileExists
	}
	if err := fs.root.Remove(filePath(owner, to)); err != nil {
		return fmt.Errorf("reclaim orphan file: %w", err)
	}
	return fs.root.Link(from, filePath(owner, to))
}

// create names an upload and records it: link the temp file to its name (refusing a taken
// name), then record the metadata; if recording fails the name is removed again.
func (fs *fileStore) create(ctx context.Context, up *Upload, m FileMeta) error {
	defer fs.discard(up)
	if err := fs.root.MkdirAll(m.Owner, 0o700); err != nil {
		return fmt.Errorf("user files dir: %w", err)
	}
	if _, err := fs.find(ctx, m.Owner, m.Filename); err == nil {
		return ErrFileExists
	}
	if err := fs.claimName(ctx, m.Owner, up.tempPath, m.Filename); err != nil {
		return err
	}
	if err := insertValue(ctx, fs.meta, m); err != nil {
		_ = fs.root.Remove(filePath(m.Owner, m.Filename))
		if docstore.IsDuplicate(err) {
			return ErrFileExists
		}
		return fmt.Errorf("record file: %w", err)
	}
	return nil
}

// replace swaps a file's bytes: the old bytes are moved aside, the new ones renamed in, then
// the metadata updated; if the update fails the old bytes are put back.
func (fs *fileStore) replace(ctx context.Context, up *Upload, m FileMeta, contentType string) (FileMeta, error) {
	defer fs.discard(up)
	path := filePath(m.Owner, m.Filename)
	backup := randomName()
	if err := fs.root.Rename(path, backup); err != nil && !errors.Is(err, os.ErrNotExist) {
		return m, fmt.Errorf("set old file aside: %w", err)
	}
	restore := func() { _ = fs.root.Rename(backup, path) }
	if err := fs.root.Rename(up.tempPath, path); err != nil {
		restore()
		return m, fmt.Errorf("put new file in place: %w", err)
	}
	m.Size, m.ContentType, m.UpdatedAt = up.Size, contentType, Timestamp()
	err := fs.updateMeta(ctx, m.ID, bson.D{
		{Key: "size", Value: m.Size}, {Key: "contentType", Value: m.ContentType}, {Key: "_updatedAt", Value: m.UpdatedAt},
	})
	if err != nil {
		restore()
		return m, fmt.Errorf("record new file: %w", err)
	}
	_ = fs.root.Remove(backup)
	return m, nil
}

// rename gives a file a new name and/or bucket: link the bytes under the new name, update the
// metadata, then remove the old name; if the update fails the new name is removed.
func (fs *fileStore) rename(ctx context.Context, m FileMeta, newName, newBucket string) (FileMeta, error) {
	if newName != m.Filename {
		if err := fs.claimName(ctx, m.Owner, filePath(m.Owner, m.Filename), newName); err != nil {
			return m, err
		}
	}
	updated := m
	updated.Filename, updated.Bucket, updated.UpdatedAt = newName, newBucket, Timestamp()
	err := fs.updateMeta(ctx, m.ID, bson.D{
		{Key: "filename", Value: updated.Filename}, {Key: "bucket", Value: updated.Bucket}, {Key: "_updatedAt", Value: updated.UpdatedAt},
	})
	if err != nil {
		if newName != m.Filename {
			_ = fs.root.Remove(filePath(m.Owner, newName))
		}
		if docstore.IsDuplicate(err) {
			return m, ErrFileExists
		}
		return m, fmt.Errorf("record rename: %w", err)
	}
	if newName != m.Filename {
		_ = fs.root.Remove(filePath(m.Owner, m.Filename))
	}
	return updated, nil
}

// remove deletes a file: the bytes are moved aside, the metadata deleted, then the bytes; if
// deleting the metadata fails the bytes are put back.
func (fs *fileStore) remove(ctx context.Context, m FileMeta) error {
	path := filePath(m.Owner, m.Filename)
	trash := randomName()
	if err := fs.root.Rename(path, trash); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("set file aside: %w", err)
	}
	if _, err := fs.meta.Delete(ctx, bson.D{{Key: "_id", Value: m.ID}}); err != nil && !errors.Is(err, docstore.ErrNotFound) {
		_ = fs.root.Rename(trash, path)
		return fmt.Errorf("delete file record: %w", err)
	}
	_ = fs.root.Remove(trash)
	return nil
}

// updateMeta sets fields of a file's metadata. Metadata another request removed meanwhile is
// left removed: that request's outcome stands.
func (fs *fileStore) updateMeta(ctx context.Context, id bson.ObjectID, set bson.D) error {
	if _, err := fs.meta.Update(ctx, bson.D{{Key: "_id", Value: id}}, docstore.Change{Set: set}); err != nil && !errors.Is(err, docstore.ErrNotFound) {
		return err
	}
	return nil
}

// open returns the file's bytes for reading.
func (fs *fileStore) open(m FileMeta) (*os.File, fs.FileInfo, error) {
	f, err := fs.root.Open(filePath(m.Owner, m.Filename))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, ErrFileNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("open file: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, nil, fmt.Errorf("stat file: %w", err)
	}
	return f, info, nil
}
