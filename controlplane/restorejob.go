package controlplane

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/backpackhq/backpack/controlplane/store"
	"github.com/backpackhq/backpack/tools/backuparchive"
)

// A restore posts an archive file — a stored backup, or an upload spooled to the backup
// directory and verified first — to the backend's POST /admin/restore, which verifies it again
// and replaces the backend's data. It runs in the background; its start and result go to the
// backend's events.

// restoreSource is the archive a restore sends.
type restoreSource struct {
	path        string
	contentType string // application/x-tar or application/gzip
	label       string // how the events name it: "backup ID" or "an uploaded archive"
	temporary   bool   // an upload, removed once the restore has ended
}

// verifyFile checks a whole archive file before it is kept or sent (gzipped: an upload).
func verifyFile(path string, gzipped bool) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open archive: %w", err)
	}
	defer f.Close()
	return verifyArchive(f, gzipped)
}

// verifyArchive reads r to its end through backuparchive.Verify, un-gzipping it first. A
// refused archive, a broken gzip stream included, is a *backuparchive.Error; a failure to read
// r (an upload cut short, a disk error) is returned as it is.
func verifyArchive(r io.Reader, gzipped bool) error {
	src := &readErr{r: r}
	in := io.Reader(src)
	if gzipped {
		zr, err := gzip.NewReader(src)
		if err != nil {
			if src.err != nil {
				return fmt.Errorf("read the archive: %w", src.err)
			}
			return &backuparchive.Error{Reason: "not a valid gzip stream: " + err.Error()}
		}
		defer zr.Close()
		in = zr
	}
	_, err := backuparchive.Verify(in, backuparchive.Limits{})
	var be *backuparchive.Error
	switch {
	case err == nil || errors.As(err, &be):
		return err
	case src.err != nil:
		return fmt.Errorf("read the archive: %w", src.err)
	}
	return &backuparchive.Error{Reason: "not a valid gzip stream: " + err.Error()}
}

// startRestore reserves the backend, then restores src into it in the background.
func (s *Server) startRestore(ctx context.Context, b store.Backend, src restoreSource) error {
	job, err := s.jobs.claim(b.Name, "restore")
	if err != nil {
		return err
	}
	if err := s.checkNoBackupRunning(ctx, b.Name); err != nil {
		job.end()
		return err
	}
	s.record(ctx, b, "restore", "restore from "+src.label+" started")
	go func() {
		defer job.end()
		restored, err := s.restore(s.lifetime, b, src)
		job.free()
		done := context.WithoutCancel(s.lifetime)
		if err != nil {
			s.recordJob(done, b, "restore", "restore failed: "+err.Error())
			return
		}
		s.recordJob(done, b, "restore", restored)
	}()
	return nil
}

// checkNoBackupRunning refuses a restore while another control plane takes a backup.
func (s *Server) checkNoBackupRunning(ctx context.Context, name string) error {
	list, err := s.store.ListBackups(ctx, name, "")
	if err != nil {
		return err
	}
	for _, bk := range list {
		if bk.State == store.BackupRunning {
			return errBackupInProgress
		}
	}
	return nil
}

// restoreAnswer is POST /admin/restore's 200.
type restoreAnswer struct {
	Restored   map[string]int `json:"restored"`
	DurationMs int64          `json:"durationMs"`
}

// restore sends the archive and says what was restored, for the events.
func (s *Server) restore(ctx context.Context, b store.Backend, src restoreSource) (string, error) {
	if src.temporary {
		defer os.Remove(src.path)
	}
	f, err := os.Open(src.path)
	if err != nil {
		return "", fmt.Errorf("open the archive: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("open the archive: %w", err)
	}
	resp, err := s.callAdmin(ctx, b, http.MethodPost, "/admin/restore", src.contentType, f, info.Size())
	if err != nil {
		if ctx.Err() != nil {
			return "", errors.New("the control plane stopped during the restore")
		}
		return "", fmt.Errorf("send the archive: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("the backend answered %s", adminFailure(resp))
	}
	var out restoreAnswer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		return "", fmt.Errorf("read the backend's answer: %w", err)
	}
	return fmt.Sprintf("restored: %s in %s", describeCounts(out.Restored), time.Duration(out.DurationMs)*time.Millisecond), nil
}

// describeCounts turns a manifest's counts into "N documents, M users, K files" (documents
// are counted per collection, as documents:NAME).
func describeCounts(counts map[string]int) string {
	docs := 0
	for k, n := range counts {
		if strings.HasPrefix(k, "documents:") {
			docs += n
		}
	}
	parts := []string{counted(docs, "document"), counted(counts["users"], "user"), counted(counts["files"], "file")}
	var rest []string
	for k, n := range counts {
		if !strings.HasPrefix(k, "documents:") && k != "users" && k != "files" {
			rest = append(rest, fmt.Sprintf("%d %s", n, k))
		}
	}
	sort.Strings(rest)
	return strings.Join(append(parts, rest...), ", ")
}

// counted is "1 user" or "N users".
func counted(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// copyInto restores the backup a new backend was created from, once the backend first runs
// (the reconciler calls it). A copy that fails leaves the backend running empty, saying why in
// its events and lastError. Either way the copy is not attempted again.
func (s *Server) copyInto(ctx context.Context, b store.Backend) error {
	err := s.copyBackup(ctx, b)
	if ctx.Err() != nil {
		return ctx.Err() // the next leader attempts it again
	}
	if err != nil {
		msg := fmt.Sprintf("restore failed: %v; the backend runs empty, not a copy of backup %s", err, b.CopyFrom)
		s.record(ctx, b, "restore", msg)
		if uerr := s.store.UpdateStatus(ctx, b.Name, b.Operation, store.StatusUpdate{State: b.State, LastError: msg, Now: time.Now()}); uerr != nil {
			return uerr
		}
		s.changed(ctx, b.Name)
	}
	return s.store.ClearCopyFrom(ctx, b.Name, b.Operation)
}

func (s *Server) copyBackup(ctx context.Context, b store.Backend) error {
	bk, err := s.store.Backup(ctx, b.CopyFrom)
	if isNotFound(err) || err == nil && bk.State != store.BackupReady {
		return fmt.Errorf("backup %s is gone", b.CopyFrom)
	}
	if err != nil {
		return err
	}
	job, err := s.jobs.claim(b.Name, "restore")
	if err != nil {
		return err
	}
	defer job.end()
	s.record(ctx, b, "restore", fmt.Sprintf("copy of backup %s of %s: restore from backup %s started", bk.ID, bk.Backend, bk.ID))
	restored, err := s.restore(ctx, b, restoreSource{path: s.backupPath(bk.ID), contentType: mediaTar, label: "backup " + bk.ID})
	job.free()
	if err != nil {
		return err
	}
	s.record(ctx, b, "restore", restored)
	return nil
}
