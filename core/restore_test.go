package core

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/backpackhq/backpack/tools/backuparchive"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// storeFile uploads data as owner's filename.
func storeFile(t *testing.T, s *Service, owner, filename, data string) {
	t.Helper()
	up, err := s.ReceiveFile(strings.NewReader(data), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateFile(context.Background(), up, owner, filename, "", "text/plain"); err != nil {
		t.Fatal(err)
	}
}

// fileContent reads owner's filename, or "" and false if there is none.
func fileContent(t *testing.T, s *Service, owner, filename string) (string, bool) {
	t.Helper()
	m, err := s.FindFile(context.Background(), owner, filename)
	if errors.Is(err, ErrFileNotFound) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	f, _, err := s.OpenFile(m)
	if err != nil {
		t.Fatalf("metadata of %s without its bytes: %v", filename, err)
	}
	defer f.Close()
	data, _ := io.ReadAll(f)
	return string(data), true
}

// TestRestoreUndoesAfterTheFilesMoved fails a restore at its last step, once the archive's
// files have replaced the present ones: everything, files included, is as it was before.
func TestRestoreUndoesAfterTheFilesMoved(t *testing.T) {
	grace := restoreGrace
	restoreGrace = 0
	t.Cleanup(func() { restoreGrace = grace })
	ctx := context.Background()
	s := newTestService(t, nil)
	u, err := s.CreateUser(ctx, "ann@example.com", "hash")
	if err != nil {
		t.Fatal(err)
	}
	owner := u.ID.Hex()
	if _, err := s.CreateCollection(ctx, "notes"); err != nil {
		t.Fatal(err)
	}
	notes := s.store.Collection("notes")
	if err := notes.Insert(ctx, bson.D{{Key: "_id", Value: "a"}}); err != nil {
		t.Fatal(err)
	}
	storeFile(t, s, owner, "old.txt", "backed up")

	var archive bytes.Buffer
	w := backuparchive.NewWriter(&archive, nil, backuparchive.Options{})
	if err := s.Backup(ctx, w); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	m, err := backuparchive.Verify(bytes.NewReader(archive.Bytes()), backuparchive.Limits{})
	if err != nil {
		t.Fatal(err)
	}

	// Changed since the backup.
	if err := notes.Insert(ctx, bson.D{{Key: "_id", Value: "b"}}); err != nil {
		t.Fatal(err)
	}
	storeFile(t, s, owner, "new.txt", "written later")
	incarnation := s.Incarnation()

	_, err = s.Restore(ctx, bytes.NewReader(archive.Bytes()), m, RestoreOptions{Commit: func() error { return errors.New("disk gone") }})
	var ce *Error
	if !errors.As(err, &ce) || ce.Code != "restore_failed" || !strings.Contains(ce.Message, "put back") {
		t.Fatalf("restore = %v, want restore_failed", err)
	}
	if n, _ := notes.Count(ctx, bson.D{}); n != 2 {
		t.Fatalf("%d notes after the undo, want 2", n)
	}
	for name, want := range map[string]string{"old.txt": "backed up", "new.txt": "written later"} {
		if got, ok := fileContent(t, s, owner, name); !ok || got != want {
			t.Fatalf("%s after the undo = %q (%v), want %q", name, got, ok, want)
		}
	}
	if s.Incarnation() != incarnation {
		t.Fatal("a failed restore ended the sessions")
	}
	if _, err := s.RestoreCheck(ctx); err != nil {
		t.Fatalf("after a failed restore that was undone: %v", err)
	}

	// The same restore without the failure: the archive's state, and only it.
	counts, err := s.Restore(ctx, bytes.NewReader(archive.Bytes()), m, RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if counts["documents:notes"] != 1 || counts["files"] != 1 || counts["users"] != 1 {
		t.Fatalf("counts = %v", counts)
	}
	if n, _ := notes.Count(ctx, bson.D{}); n != 1 {
		t.Fatalf("%d notes after the restore, want 1", n)
	}
	if got, ok := fileContent(t, s, owner, "old.txt"); !ok || got != "backed up" {
		t.Fatalf("old.txt after the restore = %q (%v)", got, ok)
	}
	if _, ok := fileContent(t, s, owner, "new.txt"); ok {
		t.Fatal("new.txt survived the restore")
	}
	if s.Incarnation() == incarnation {
		t.Fatal("the restore kept the incarnation: sessions did not end")
	}
	// Nothing of the restore's work is left in the files directory.
	entries, err := s.files.root.Open(".")
	if err != nil {
		t.Fatal(err)
	}
	defer entries.Close()
	names, _ := entries.Readdirnames(-1)
	for _, n := range names {
		if strings.HasPrefix(n, ".restore-") {
			t.Fatalf("left in the files directory: %s", n)
		}
	}
	tmp, err := s.files.root.Open(TempDir)
	if err != nil {
		t.Fatal(err)
	}
	defer tmp.Close()
	if left, _ := tmp.Readdirnames(-1); len(left) > 0 {
		t.Fatalf("left in %s: %v (the snapshots)", TempDir, left)
	}
}
