package core

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/backpackhq/backpack/tools/backuparchive"
	"github.com/backpackhq/backpack/tools/docstore"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Names of the archive entries Backup writes; restore reads the same names.
const (
	BackupSettingsEntry    = "settings.json"
	BackupCollectionsEntry = "collections.jsonl"
	BackupUsersEntry       = "users.jsonl"
	BackupFilesEntry       = "files.jsonl"
	BackupFunctionsEntry   = "functions.jsonl"
	// BackupDocumentsDir holds one "<collection>.jsonl" per collection; BackupFileBytesDir
	// holds "<owner>/<filename>", the bytes of each file.
	BackupDocumentsDir = "collections/"
	BackupFileBytesDir = "files/"
)

// backupPageSize is how many documents one database call of a backup reads: a collection is
// read in pages sorted by _id, never whole, so a large one does not sit in memory.
const backupPageSize = 1000

// BackupSettings is settings.json: the settings changed at runtime, never the API key or its
// digests. corsOrigins is absent when the origins were never set at runtime and follow the
// configuration.
type BackupSettings struct {
	CORSOrigins []string `json:"corsOrigins,omitempty"`
	// Quotas has null for a quota never set at runtime.
	Quotas             QuotasPatch `json:"quotas"`
	FunctionFetchHosts []string    `json:"functionFetchHosts"`
}

// BackupCollection is one line of collections.jsonl: a registered collection with its rule
// and its indexes.
type BackupCollection struct {
	Name      string           `json:"name"`
	Rule      Rule             `json:"rule"`
	CreatedAt string           `json:"createdAt"`
	Indexes   []docstore.Index `json:"indexes"`
}

// Backup writes the backend's data into w (the caller adds what core does not hold, such as
// the site, and closes w):
//
//	settings.json               BackupSettings
//	collections.jsonl           one BackupCollection per registered collection, by name
//	collections/<name>.jsonl    every document of that collection, by _id
//	users.jsonl                 every user as stored, password hash included, by _id
//	files/<owner>/<filename>    the bytes of every file
//	files.jsonl                 the metadata of every file whose bytes are in the archive
//	functions.jsonl             every function as stored (Function), by name
//
// Documents, users and file metadata are MongoDB canonical Extended JSON, one per line, so
// every BSON type comes back as it was. Nothing is locked: writes go on during a backup, and
// every document is read whole in one call, so each is in the archive whole or not at all.
// The manifest counts documents:<name> per collection, collections, users, files and
// functions.
func (s *Service) Backup(ctx context.Context, w *backuparchive.Writer) error {
	steps := []func(context.Context, *backuparchive.Writer) error{
		s.backupSettings, s.backupCollections, s.backupUsers, s.backupFiles, s.backupFunctions,
	}
	for _, step := range steps {
		if err := step(ctx, w); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
	}
	return nil
}

// backupSettings writes settings.json from the stored settings as they are now.
func (s *Service) backupSettings(ctx context.Context, w *backuparchive.Writer) error {
	var st storedSettings
	err := findOne(ctx, s.settings.coll, bson.D{{Key: "_id", Value: "settings"}}, docstore.FindOptions{}, &st)
	if err != nil && !errors.Is(err, docstore.ErrNotFound) {
		return fmt.Errorf("read settings: %w", err)
	}
	out := BackupSettings{
		Quotas:             QuotasPatch{Collections: st.Quotas.Collections, FileBytes: st.Quotas.FileBytes, UserFileBytes: st.Quotas.UserFileBytes},
		FunctionFetchHosts: st.FunctionFetchHosts,
	}
	if out.FunctionFetchHosts == nil {
		out.FunctionFetchHosts = []string{}
	}
	if st.CORSOriginsSet {
		out.CORSOrigins = st.CORSOrigins
		if out.CORSOrigins == nil {
			out.CORSOrigins = []string{}
		}
	}
	data, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("encode settings: %w", err)
	}
	return w.Add(BackupSettingsEntry, int64(len(data)), bytes.NewReader(data))
}

// backupCollections writes collections.jsonl, then each collection's documents.
func (s *Service) backupCollections(ctx context.Context, w *backuparchive.Writer) error {
	infos, err := s.collections.list(ctx)
	if err != nil {
		return err
	}
	entry, err := w.Create(BackupCollectionsEntry)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(entry)
	for _, info := range infos {
		idxs, err := s.store.Collection(info.Name).ListIndexes(ctx)
		if err != nil {
			_ = entry.Close()
			return fmt.Errorf("list indexes of %s: %w", info.Name, err)
		}
		if idxs == nil {
			idxs = []docstore.Index{}
		}
		line := BackupCollection{Name: info.Name, Rule: info.Rule, CreatedAt: info.CreatedAt, Indexes: idxs}
		if err := enc.Encode(line); err != nil {
			_ = entry.Close()
			return fmt.Errorf("write collection %s: %w", info.Name, err)
		}
	}
	if err := entry.Close(); err != nil {
		return err
	}
	w.Count("collections", len(infos))
	for _, info := range infos {
		n, err := backupDocuments(ctx, w, s.store.Collection(info.Name), BackupDocumentsDir+info.Name+".jsonl")
		if err != nil {
			return fmt.Errorf("documents of %s: %w", info.Name, err)
		}
		w.Count("documents:"+info.Name, n)
	}
	return nil
}

// backupUsers writes users.jsonl: every user as stored.
func (s *Service) backupUsers(ctx context.Context, w *backuparchive.Writer) error {
	n, err := backupDocuments(ctx, w, s.users.coll, BackupUsersEntry)
	if err != nil {
		return fmt.Errorf("users: %w", err)
	}
	w.Count("users", n)
	return nil
}

// backupFunctions writes functions.jsonl.
func (s *Service) backupFunctions(ctx context.Context, w *backuparchive.Writer) error {
	fns, err := s.Functions(ctx)
	if err != nil {
		return err
	}
	entry, err := w.Create(BackupFunctionsEntry)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(entry)
	enc.SetEscapeHTML(false)
	for _, fn := range fns {
		if err := enc.Encode(fn); err != nil {
			_ = entry.Close()
			return fmt.Errorf("write function %s: %w", fn.Name, err)
		}
	}
	if err := entry.Close(); err != nil {
		return err
	}
	w.Count("functions", len(fns))
	return nil
}

// backupFiles writes the bytes of every file, then files.jsonl with the metadata of those
// whose bytes are in. A file deleted between listing and opening is left out whole. The
// metadata lines wait in memory until the bytes are written, since the archive takes one
// entry at a time; they are a few hundred bytes per file.
func (s *Service) backupFiles(ctx context.Context, w *backuparchive.Writer) error {
	var meta bytes.Buffer
	n := 0
	_, err := eachPage(ctx, s.files.meta, func(doc bson.D) error {
		var m FileMeta
		if err := docstore.Decode(doc, &m); err != nil {
			return fmt.Errorf("decode file metadata: %w", err)
		}
		included, err := s.backupFileBytes(w, m)
		if err != nil || !included {
			return err
		}
		n++
		return appendExtJSON(&meta, doc)
	})
	if err != nil {
		return fmt.Errorf("files: %w", err)
	}
	if err := w.Add(BackupFilesEntry, int64(meta.Len()), &meta); err != nil {
		return err
	}
	w.Count("files", n)
	return nil
}

// backupFileBytes adds one file's bytes, as big as the open file is; false if it is gone.
func (s *Service) backupFileBytes(w *backuparchive.Writer, m FileMeta) (bool, error) {
	f, info, err := s.OpenFile(m)
	if errors.Is(err, ErrFileNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("file %s/%s: %w", m.Owner, m.Filename, err)
	}
	defer func() { _ = f.Close() }()
	if err := w.Add(BackupFileBytesDir+filePath(m.Owner, m.Filename), info.Size(), f); err != nil {
		return false, err
	}
	return true, nil
}

// backupDocuments writes every document of coll into a new entry, as Extended JSON lines,
// and says how many there were.
func backupDocuments(ctx context.Context, w *backuparchive.Writer, coll docstore.Collection, name string) (int, error) {
	entry, err := w.Create(name)
	if err != nil {
		return 0, err
	}
	var line bytes.Buffer
	n, err := eachPage(ctx, coll, func(doc bson.D) error {
		line.Reset()
		if err := appendExtJSON(&line, doc); err != nil {
			return err
		}
		_, err := line.WriteTo(entry)
		return err
	})
	closeErr := entry.Close()
	if err != nil {
		return 0, err
	}
	return n, closeErr
}

// eachPage calls fn with every document of coll in _id order, reading backupPageSize at a
// time with _id past the last one seen, and says how many fn took without error.
func eachPage(ctx context.Context, coll docstore.Collection, fn func(bson.D) error) (int, error) {
	var last any
	n := 0
	for {
		filter := bson.D{}
		if last != nil {
			filter = bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: last}}}}
		}
		page, err := coll.Find(ctx, filter, docstore.FindOptions{Sort: bson.D{{Key: "_id", Value: 1}}, Limit: backupPageSize})
		if err != nil {
			return n, fmt.Errorf("read documents: %w", err)
		}
		for _, doc := range page {
			if err := fn(doc); err != nil {
				return n, err
			}
			n++
		}
		if len(page) < backupPageSize {
			return n, nil
		}
		last, _ = lookupField(page[len(page)-1], "_id")
	}
}

// appendExtJSON writes doc as one line of canonical Extended JSON.
func appendExtJSON(buf io.Writer, doc bson.D) error {
	data, err := bson.MarshalExtJSON(doc, true, false)
	if err != nil {
		return fmt.Errorf("encode document: %w", err)
	}
	if _, err := buf.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("write document: %w", err)
	}
	return nil
}
