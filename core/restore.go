package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/backpackhq/backpack/tools/backuparchive"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// KindRestore events say a restore started ("start": refuse requests, close connections) or
// ended ("end": the data changed under every replica's caches).
const KindRestore = "restore"

// restoreGrace is how long a restore waits after placing its marker before it changes
// anything: every replica reads the marker at least once per restoreCheckEvery, so none is
// still serving the data about to be replaced.
var restoreGrace = restoreCheckEvery + time.Second

// RestoreOptions are what Restore needs beside the archive.
type RestoreOptions struct {
	// Other takes each entry core does not hold (the site's, under a prefix the caller owns),
	// in archive order; Owns says which names those are, checked before anything changes.
	Owns  func(name string) bool
	Other func(name string, r io.Reader) error
	// Commit runs once core's data is in place, before the restore counts as done; if it
	// fails, the previous data is put back. It must itself change nothing when it fails.
	Commit func() error
	// Source goes into the manifest of the snapshot of the previous data.
	Source map[string]string
}

// Restore replaces the backend's data with an archive that backuparchive.Verify accepted
// (m is what it returned; archive is read from its start). Names are checked against the
// layout Backup writes before anything changes; then every replica is told to refuse
// requests (ErrRestoring), the present data is saved to a snapshot in the files directory,
// the data is replaced, and the restore either finishes — new incarnation, so every session
// ends — or puts the snapshot back. It returns what it restored, counted as the manifest
// counts. Refusals: ErrRestoreInProgress, invalid_backup (content the archive's checksums
// cannot vouch for: a bad line, a document without _id), restore_failed.
func (s *Service) Restore(ctx context.Context, archive io.ReadSeeker, m backuparchive.Manifest, opt RestoreOptions) (map[string]int, error) {
	if err := checkBackupNames(m, opt.Owns); err != nil {
		return nil, err
	}
	token, stopBeat, err := s.claimRestore(ctx)
	if err != nil {
		return nil, err
	}
	// From here the restore runs to its end even if its caller goes away: stopping halfway is
	// what the snapshot is for, not what a dropped connection should cause.
	ctx = context.WithoutCancel(ctx)
	s.Publish(ctx, Event{Kind: KindRestore, Action: "start"})
	time.Sleep(restoreGrace)
	counts, failed, err := s.replaceData(ctx, archive, m, opt)
	stopBeat()
	if rerr := s.releaseRestore(ctx, token, failed); rerr != nil && err == nil {
		err = rerr
	}
	s.Publish(ctx, Event{Kind: KindRestore, Action: "end"})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// replaceData snapshots, replaces and, on failure, puts the snapshot back. failed is set when
// even that went wrong: the marker then stays, saying so.
func (s *Service) replaceData(ctx context.Context, archive io.ReadSeeker, m backuparchive.Manifest, opt RestoreOptions) (counts map[string]int, failed string, err error) {
	snap, err := s.snapshot(ctx, opt.Source)
	if err != nil {
		s.log.Error("restore: saving the previous data", "err", err)
		return nil, "", restoreFailed("the previous data could not be saved first; nothing was changed")
	}
	work := s.files.newRestoreDirs()
	defer func() {
		if !work.keep {
			s.files.removeTemp(snap.name)
		}
		work.cleanup(s.files)
	}()

	counts, err = s.replaceWith(ctx, archive, m, opt, work)
	if err == nil {
		return counts, "", nil
	}
	var invalid *Error
	if errors.As(err, &invalid) && invalid.Code == "invalid_backup" {
		s.log.Warn("restore refused; putting the previous data back", "err", err)
	} else {
		s.log.Error("restore failed; putting the previous data back", "err", err)
	}
	if uerr := s.undoRestore(ctx, snap, work); uerr != nil {
		s.log.Error("restore: putting the previous data back failed", "err", uerr, "snapshot", snap.name)
		work.keep = true
		return nil, uerr.Error(), restoreFailed("the restore failed and the previous data could not be put back; the backend answers 503 until a restore succeeds")
	}
	if invalid != nil && invalid.Code == "invalid_backup" {
		invalid.Message += "; nothing was changed"
		return nil, "", invalid
	}
	return nil, "", restoreFailed("the restore failed halfway; the previous data was put back")
}

// replaceWith drops the present data and loads the archive in its place.
func (s *Service) replaceWith(ctx context.Context, archive io.ReadSeeker, m backuparchive.Manifest, opt RestoreOptions, work *restoreDirs) (map[string]int, error) {
	if err := s.wipe(ctx); err != nil {
		return nil, err
	}
	if _, err := archive.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewind archive: %w", err)
	}
	ld := s.newLoader(work, opt.Other, false)
	if err := ld.load(ctx, backuparchive.Open(archive, m)); err != nil {
		return nil, err
	}
	ld.dropUnlisted()
	if err := s.files.swapIn(work); err != nil {
		return nil, err
	}
	if opt.Commit != nil {
		if err := opt.Commit(); err != nil {
			return nil, fmt.Errorf("commit: %w", err)
		}
	}
	if err := s.renewIncarnation(ctx); err != nil {
		return nil, err
	}
	return ld.counts, nil
}

// undoRestore puts the snapshot back: the data as it was before, files included.
func (s *Service) undoRestore(ctx context.Context, snap snapshotFile, work *restoreDirs) error {
	if err := s.files.swapOut(work); err != nil {
		return err
	}
	if err := s.wipe(ctx); err != nil {
		return err
	}
	f, err := s.files.root.Open(snap.name)
	if err != nil {
		return fmt.Errorf("open snapshot: %w", err)
	}
	defer func() { _ = f.Close() }()
	ld := s.newLoader(nil, nil, true)
	if err := ld.load(ctx, backuparchive.Open(f, snap.manifest)); err != nil {
		return fmt.Errorf("load snapshot: %w", err)
	}
	return nil
}

// AfterRestore drops what this replica cached of the data a restore replaced, when another
// replica says it restored (RestoreEvent does the same when it finds a new incarnation).
func (s *Service) AfterRestore() {
	s.collections.forgetAll()
	s.liveUsers.forgetAll()
}

// restoreFailed is a 500 whose message says what state the data is in.
func restoreFailed(message string) error {
	return &Error{Kind: Failed, Code: "restore_failed", Message: message}
}

// snapshotFile is the previous data, saved before a restore changes it.
type snapshotFile struct {
	name     string // in the files root
	manifest backuparchive.Manifest
}

// snapshot writes the data as it is now (file bytes aside: they are kept by moving their
// directories away) into an archive in the files directory, and checks it.
func (s *Service) snapshot(ctx context.Context, source map[string]string) (snapshotFile, error) {
	name := randomName()
	f, err := s.files.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return snapshotFile{}, fmt.Errorf("create snapshot: %w", err)
	}
	defer func() { _ = f.Close() }()
	w := backuparchive.NewWriter(f, source, backuparchive.Options{SpoolDir: s.files.tempDirPath()})
	for _, step := range []func(context.Context, *backuparchive.Writer) error{
		s.backupSettings, s.backupCollections, s.backupUsers, s.backupFileMeta, s.backupFunctions,
	} {
		if err := step(ctx, w); err != nil {
			s.files.removeTemp(name)
			return snapshotFile{}, fmt.Errorf("snapshot: %w", err)
		}
	}
	err = w.Close()
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	var m backuparchive.Manifest
	if err == nil {
		m, err = backuparchive.Verify(f, backuparchive.Limits{})
	}
	if err != nil {
		s.files.removeTemp(name)
		return snapshotFile{}, fmt.Errorf("snapshot: %w", err)
	}
	return snapshotFile{name: name, manifest: m}, nil
}

// wipe drops every collection of the backend's data. What is not data stays: the
// incarnation and the restore marker, the settings document (which holds the API key's
// digests; a restore changes only its backed-up fields), and the backend-wide locks.
func (s *Service) wipe(ctx context.Context) error {
	names, err := s.store.ListCollections(ctx)
	if err != nil {
		return fmt.Errorf("list collections: %w", err)
	}
	for _, name := range names {
		if name == metaBackend || name == metaSettings || name == metaLocks {
			continue
		}
		if err := s.store.DropCollection(ctx, name); err != nil {
			return fmt.Errorf("drop %s: %w", name, err)
		}
	}
	s.collections.forgetAll()
	s.liveUsers.forgetAll()
	for _, step := range []func(context.Context) error{s.users.ensureIndexes, s.files.ensureIndexes, s.ensureFunctionLogIndex} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// renewIncarnation gives the database a new incarnation: every session, bound to the old
// one, ends, on every replica (see RestoreCheck).
func (s *Service) renewIncarnation(ctx context.Context) error {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	inc := hex.EncodeToString(b)
	_, err := s.store.Collection(metaBackend).Replace(ctx, bson.D{{Key: "_id", Value: incarnationDoc}},
		bson.D{{Key: "_id", Value: incarnationDoc}, {Key: "value", Value: inc}})
	if err != nil {
		return fmt.Errorf("renew incarnation: %w", err)
	}
	s.adoptIncarnation(inc)
	return nil
}

// backupFileMeta writes files.jsonl with every file's metadata and none of the bytes: the
// snapshot keeps the bytes by moving their directories (see swapIn).
func (s *Service) backupFileMeta(ctx context.Context, w *backuparchive.Writer) error {
	n, err := backupDocuments(ctx, w, s.files.meta, BackupFilesEntry)
	if err != nil {
		return fmt.Errorf("files: %w", err)
	}
	w.Count("files", n)
	return nil
}
