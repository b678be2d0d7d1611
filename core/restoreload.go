package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/backpackhq/backpack/tools/backuparchive"
	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/names"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// maxRestoreLine bounds one JSON line of an archive: a document is at most 16 MiB of BSON,
// and its Extended JSON can be a few times that.
const maxRestoreLine = 64 << 20

// invalidBackup refuses an archive whose content (not its checksums: Verify saw to those)
// cannot be restored.
func invalidBackup(entry, reason string) *Error {
	return &Error{Kind: Invalid, Code: "invalid_backup", Message: "the archive cannot be restored: " + reason,
		Details: map[string]any{"entry": entry, "reason": reason}}
}

// InvalidBackup turns a refusal of backuparchive (Verify, or a reader) into the contract's
// invalid_backup; other errors come back as they are.
func InvalidBackup(err error) error {
	var ae *backuparchive.Error
	if errors.As(err, &ae) {
		return invalidBackup(ae.Entry, ae.Reason)
	}
	return err
}

// checkBackupNames refuses, before anything changes, an archive holding an entry Backup
// never writes, or a collection, file owner or file name the API would refuse.
func checkBackupNames(m backuparchive.Manifest, owns func(string) bool) error {
	for _, e := range m.Entries {
		if err := checkBackupName(e.Name, owns); err != nil {
			return invalidBackup(e.Name, err.Error())
		}
	}
	return nil
}

func checkBackupName(name string, owns func(string) bool) error {
	switch name {
	case BackupSettingsEntry, BackupCollectionsEntry, BackupUsersEntry, BackupFilesEntry, BackupFunctionsEntry:
		return nil
	}
	if rest, ok := strings.CutPrefix(name, BackupDocumentsDir); ok {
		coll, ok := strings.CutSuffix(rest, ".jsonl")
		if !ok {
			return errors.New("a collection's documents are in <name>.jsonl")
		}
		return names.Collection(coll)
	}
	if rest, ok := strings.CutPrefix(name, BackupFileBytesDir); ok {
		owner, filename, ok := strings.Cut(rest, "/")
		if !ok {
			return errors.New("a file's bytes are in files/<owner>/<filename>")
		}
		if _, err := bson.ObjectIDFromHex(owner); err != nil {
			return errors.New("a file's owner must be a user id")
		}
		return names.Filename(filename)
	}
	if owns != nil && owns(name) {
		return nil
	}
	return errors.New("this entry is not part of a Backpack backup")
}

// loader writes an archive's entries into the (wiped) database. For a snapshot, file bytes
// are not in the archive (their directories were moved aside and come back as they were);
// otherwise they are written into work's staging directory and only metadata whose bytes
// arrived is kept, with the size of the bytes.
type loader struct {
	s           *Service
	work        *restoreDirs
	other       func(name string, r io.Reader) error
	snapshot    bool
	collections map[string]bool
	staged      map[string]int64 // owner/filename → bytes written
	listed      map[string]bool  // owner/filename with metadata
	counts      map[string]int
}

func (s *Service) newLoader(work *restoreDirs, other func(string, io.Reader) error, snapshot bool) *loader {
	return &loader{s: s, work: work, other: other, snapshot: snapshot,
		collections: map[string]bool{}, staged: map[string]int64{}, listed: map[string]bool{}, counts: map[string]int{}}
}

// dropUnlisted removes staged bytes no metadata claimed, so a restore leaves no orphan file.
func (ld *loader) dropUnlisted() {
	for rest := range ld.staged {
		if !ld.listed[rest] {
			_ = ld.s.files.root.Remove(ld.work.newDir() + "/" + rest)
		}
	}
}

// load writes every entry of r.
func (ld *loader) load(ctx context.Context, r *backuparchive.Reader) error {
	for {
		e, body, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return InvalidBackup(err)
		}
		if err := ld.entry(ctx, e.Name, body); err != nil {
			return InvalidBackup(err)
		}
	}
}

// entry writes one entry; its name passed checkBackupName.
func (ld *loader) entry(ctx context.Context, name string, body io.Reader) error {
	switch name {
	case BackupSettingsEntry:
		return ld.settings(ctx, body)
	case BackupCollectionsEntry:
		return ld.lines(body, name, func(line []byte) error { return ld.collection(ctx, line) })
	case BackupUsersEntry:
		return ld.lines(body, name, func(line []byte) error { return ld.user(ctx, line) })
	case BackupFilesEntry:
		return ld.lines(body, name, func(line []byte) error { return ld.fileMeta(ctx, line) })
	case BackupFunctionsEntry:
		return ld.lines(body, name, func(line []byte) error { return ld.function(ctx, line) })
	}
	if rest, ok := strings.CutPrefix(name, BackupDocumentsDir); ok {
		coll := strings.TrimSuffix(rest, ".jsonl")
		if !ld.collections[coll] {
			return invalidBackup(name, "documents of a collection collections.jsonl does not list")
		}
		n := 0
		batch := &docBatch{coll: ld.s.store.Collection(coll)}
		err := ld.numberedLines(body, name, func(at int, line []byte) error {
			doc, err := extJSONDocument(line)
			if err != nil {
				return err
			}
			n++
			return batch.add(ctx, doc, at, len(line))
		})
		if err == nil {
			err = lineError(name, 0, batch.flush(ctx))
		}
		ld.counts["documents:"+coll] = n
		return err
	}
	if rest, ok := strings.CutPrefix(name, BackupFileBytesDir); ok && !ld.snapshot {
		size, err := ld.work.stage(ld.s.files, rest, body)
		ld.staged[rest] = size
		return err
	}
	if ld.other == nil {
		return invalidBackup(name, "this entry is not part of a Backpack backup")
	}
	return ld.other(name, body)
}

// lines calls fn with each line, naming the entry and line in a refusal.
func (ld *loader) lines(body io.Reader, entry string, fn func([]byte) error) error {
	return ld.numberedLines(body, entry, func(_ int, line []byte) error { return fn(line) })
}

// numberedLines calls fn with each line and its number (from 1), naming the entry and line in
// a refusal: the line read, or the one an *atLine names.
func (ld *loader) numberedLines(body io.Reader, entry string, fn func(int, []byte) error) error {
	n := 0
	return backuparchive.Lines(body, entry, maxRestoreLine, func(line []byte) error {
		n++
		if len(bytes.TrimSpace(line)) == 0 {
			return nil
		}
		return lineError(entry, n, fn(n, line))
	})
}

// lineError names the entry and line n of err (nil stays nil): a refusal becomes the entry's
// invalid_backup, a repeated _id or unique value too. An *atLine names its own line.
func lineError(entry string, n int, err error) error {
	var at *atLine
	if errors.As(err, &at) {
		n, err = at.n, at.err
	}
	var (
		refusal *Error
		dup     *docstore.DuplicateError
	)
	switch {
	case errors.As(err, &refusal) && refusal.Code == "invalid_backup":
		return invalidBackup(entry, fmt.Sprintf("line %d: %s", n, refusal.Details["reason"]))
	case errors.As(err, &dup):
		return invalidBackup(entry, fmt.Sprintf("line %d: its %s repeats an earlier one's", n, strings.Join(dup.Fields, ", ")))
	}
	if err != nil {
		return fmt.Errorf("%s line %d: %w", entry, n, err)
	}
	return nil
}

// settings restores the backed-up fields of the settings document. The API key stays.
func (ld *loader) settings(ctx context.Context, body io.Reader) error {
	data, err := io.ReadAll(io.LimitReader(body, maxRestoreLine))
	if err != nil {
		return err
	}
	set, err := parseBackupSettings(data)
	if err != nil {
		return err
	}
	return ld.s.settings.update(ctx, set)
}

// collection registers one collection with its rule and builds its indexes.
func (ld *loader) collection(ctx context.Context, line []byte) error {
	info, idxs, err := parseBackupCollection(line)
	if err != nil {
		return err
	}
	if ld.collections[info.Name] {
		return invalidBackup("", fmt.Sprintf("collection %s is listed twice", info.Name))
	}
	ld.collections[info.Name] = true
	if err := insertValue(ctx, ld.s.collections.meta, info); err != nil {
		return fmt.Errorf("register collection %s: %w", info.Name, err)
	}
	if err := ld.s.store.CreateCollection(ctx, info.Name); err != nil {
		return fmt.Errorf("create collection %s: %w", info.Name, err)
	}
	for _, idx := range idxs {
		if err := ld.s.store.Collection(info.Name).CreateIndex(ctx, idx); err != nil {
			return fmt.Errorf("create index %s on %s: %w", idx.Name, info.Name, err)
		}
	}
	ld.counts["collections"]++
	return nil
}

// user restores one user as stored, password hash included.
func (ld *loader) user(ctx context.Context, line []byte) error {
	u, err := parseBackupUser(line)
	if err != nil {
		return err
	}
	if err := insertValue(ctx, ld.s.users.coll, u); err != nil {
		return fmt.Errorf("user %s: %w", u.Email, err)
	}
	ld.counts["users"]++
	return nil
}

// fileMeta restores one file's metadata: in a restore, only if its bytes arrived (their size
// is the truth); in a snapshot, as it was.
func (ld *loader) fileMeta(ctx context.Context, line []byte) error {
	m, err := parseBackupFileMeta(line)
	if err != nil {
		return err
	}
	if !ld.snapshot {
		size, ok := ld.staged[filePath(m.Owner, m.Filename)]
		if !ok {
			return invalidBackup("", fmt.Sprintf("the bytes of %s/%s are not in the archive", m.Owner, m.Filename))
		}
		m.Size = size
		ld.listed[filePath(m.Owner, m.Filename)] = true
	}
	if err := insertValue(ctx, ld.s.files.meta, m); err != nil {
		return fmt.Errorf("file %s/%s: %w", m.Owner, m.Filename, err)
	}
	ld.counts["files"]++
	return nil
}

// function restores one function as stored; every replica loads it once the restore ends.
func (ld *loader) function(ctx context.Context, line []byte) error {
	fn, err := parseBackupFunction(line)
	if err != nil {
		return err
	}
	if err := insertValue(ctx, ld.s.store.Collection(metaFunctions), fn); err != nil {
		return fmt.Errorf("function %s: %w", fn.Name, err)
	}
	ld.counts["functions"]++
	return nil
}
