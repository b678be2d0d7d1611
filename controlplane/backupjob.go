package controlplane

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backpackhq/backpack/controlplane/store"
	"github.com/backpackhq/backpack/tools/backuparchive"
	"github.com/backpackhq/backpack/tools/httpapi"
)

// A backup streams GET /admin/backup from the backend's admin port (over backpack_admin with
// the Swarm runtime) into a temporary file of the backup directory, hashing and counting as it
// goes, verifies the whole file, and only then renames it into place and marks the row ready.
// Whatever fails on the way leaves the row failed and no file.

// Timing of running backups: the job records its progress every backupHeartbeat, and the
// leader fails a running backup without progress for backupStaleAfter (its control plane
// died), removing its temporary file.
const (
	backupHeartbeat  = 10 * time.Second
	backupStaleAfter = 5 * time.Minute
	// staleUploadAfter is how old an archive uploaded for a restore must be before the leader
	// removes it: its restore has ended long ago, or its control plane died.
	staleUploadAfter = 24 * time.Hour
)

// Names in the backup directory: ready backups are <id>.tar; a backup being written and an
// upload waiting for its restore start with a dot, so nothing takes them for backups.
func (s *Server) backupPath(id string) string { return filepath.Join(s.cfg.BackupDir, id+".tar") }
func (s *Server) backupTempPath(id string) string {
	return filepath.Join(s.cfg.BackupDir, ".backup-"+id+".tar")
}
func (s *Server) uploadPath(id string) string {
	return filepath.Join(s.cfg.BackupDir, ".upload-"+id)
}

var (
	errBackupInProgress  = httpapi.NewError(http.StatusConflict, "backup_in_progress", "a backup of this backend is running; try again once it has finished")
	errRestoreInProgress = httpapi.NewError(http.StatusConflict, "restore_in_progress", "a restore of this backend is running; try again once it has finished")
	errBackupQuota       = errors.New("backup quota exceeded")
	errJobsClosed        = httpapi.NewError(http.StatusServiceUnavailable, "unavailable", "the control plane is stopping; try again")
)

// jobs are the backups and restores this process runs: one per backend at a time (a running
// backup row in the store also keeps other control planes from starting a second backup), and
// Close waits for them.
type jobs struct {
	mu     sync.Mutex
	busy   map[string]string // backend → "backup" or "restore"
	closed bool
	wg     sync.WaitGroup
}

func newJobs() *jobs { return &jobs{busy: map[string]string{}} }

// claim reserves the backend for a job of kind.
func (j *jobs) claim(backend, kind string) (*job, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case j.closed:
		return nil, errJobsClosed
	case j.busy[backend] == "backup":
		return nil, errBackupInProgress
	case j.busy[backend] == "restore":
		return nil, errRestoreInProgress
	}
	j.busy[backend] = kind
	j.wg.Add(1)
	return &job{jobs: j, backend: backend}, nil
}

// job is one claimed backup or restore.
type job struct {
	jobs    *jobs
	backend string
	once    sync.Once
}

// free lets the backend take another job: called before the job's outcome is stored or
// recorded, so a client that sees the outcome can start the next one at once.
func (j *job) free() {
	j.once.Do(func() {
		j.jobs.mu.Lock()
		delete(j.jobs.busy, j.backend)
		j.jobs.mu.Unlock()
	})
}

// end frees the backend if not yet done and tells close the job is over.
func (j *job) end() {
	j.free()
	j.jobs.wg.Done()
}

// close refuses new jobs and waits for the running ones (their context has ended).
func (j *jobs) close() {
	j.mu.Lock()
	j.closed = true
	j.mu.Unlock()
	j.wg.Wait()
}

// backupAllowance is how many bytes of backups owner may still store (-1: no limit), with
// the limit and what is used for the quota's answer.
func (s *Server) backupAllowance(ctx context.Context, ownerID string) (allowance, limit, used int64, err error) {
	if s.cfg.BackupQuotaBytes < 0 {
		return -1, 0, 0, nil
	}
	owner, err := s.store.DeveloperByID(ctx, ownerID)
	if err != nil && !isNotFound(err) {
		return 0, 0, 0, err
	}
	if err == nil && owner.Role == store.RoleOperator {
		return -1, 0, 0, nil
	}
	used, err = s.store.BackupBytes(ctx, ownerID)
	if err != nil {
		return 0, 0, 0, err
	}
	limit = s.cfg.BackupQuotaBytes
	return max(limit-used, 0), limit, used, nil
}

// errQuotaCode is the code of a backup the quota refuses.
const errQuotaCode = "quota_exceeded"

func quotaError(limit, used int64) error {
	return &httpapi.Error{Status: http.StatusForbidden, Code: errQuotaCode,
		Message: "the backups of this backend's owner use the whole backup quota; delete some first",
		Details: map[string]any{"limit": limit, "used": used}}
}

// backupRun is a backup whose row exists, ready to stream.
type backupRun struct {
	backend   store.Backend
	row       store.Backup
	allowance int64 // bytes it may take, -1 for no limit
	job       *job
}

// startBackup checks the quota, reserves the backend and inserts the running row; the caller
// then runs it (in the background for a request, in turn for the scheduler).
func (s *Server) startBackup(ctx context.Context, b store.Backend, kind store.BackupKind) (*backupRun, error) {
	if b.State != store.StateRunning && b.State != store.StateDegraded {
		return nil, errNotReady(b)
	}
	allowance, limit, used, err := s.backupAllowance(ctx, b.OwnerID)
	if err != nil {
		return nil, err
	}
	if allowance == 0 {
		return nil, quotaError(limit, used)
	}
	job, err := s.jobs.claim(b.Name, "backup")
	if err != nil {
		return nil, err
	}
	now := time.Now()
	row := store.Backup{ID: newID(), Backend: b.Name, OwnerID: b.OwnerID, Kind: kind, State: store.BackupRunning, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateBackup(ctx, row); err != nil {
		job.end()
		if errors.Is(err, store.ErrConflict) {
			return nil, errBackupInProgress
		}
		return nil, err
	}
	row, err = s.store.Backup(ctx, row.ID) // as stored (millisecond times)
	if err != nil {
		job.end()
		return nil, err
	}
	s.record(ctx, b, "backup", fmt.Sprintf("backup %s started (%s)", row.ID, kind))
	return &backupRun{backend: b, row: row, allowance: allowance, job: job}, nil
}

// runBackup streams, verifies and stores the backup, recording the outcome in the row and the
// backend's events.
func (s *Server) runBackup(ctx context.Context, r *backupRun) {
	defer r.job.end()
	size, sum, err := s.streamBackup(ctx, r)
	// The running row keeps another backup out until the outcome is stored.
	r.job.free()
	done := context.WithoutCancel(ctx)
	if err == nil {
		err = s.store.FinishBackup(done, r.row.ID, store.BackupResult{State: store.BackupReady, Bytes: size, SHA256: sum, Now: time.Now()})
		if err != nil {
			// Failed meanwhile as stale, or deleted: the file must not outlive its row.
			_ = os.Remove(s.backupPath(r.row.ID))
			err = fmt.Errorf("store the result: %w", err)
		}
	}
	if err != nil {
		_ = os.Remove(s.backupTempPath(r.row.ID))
		msg := backupFailure(ctx, err)
		if ferr := s.store.FinishBackup(done, r.row.ID, store.BackupResult{State: store.BackupFailed, Bytes: size, Error: msg, Now: time.Now()}); ferr != nil && !errors.Is(ferr, store.ErrStale) && !errors.Is(ferr, store.ErrNotFound) {
			s.log.Error("mark backup failed", "backup", r.row.ID, "err", ferr)
		}
		s.recordJob(done, r.backend, "backup", fmt.Sprintf("backup %s failed: %s", r.row.ID, msg))
		return
	}
	s.recordJob(done, r.backend, "backup", fmt.Sprintf("backup %s ready (%s, sha256 %s)", r.row.ID, byteSize(size), sum))
}

// recordJob records what a backup or restore came to, on the backend as it is now, so the
// event joins its current operation; once the name is gone or belongs to another developer,
// nothing is recorded (their events must not tell of the earlier owner's backups).
func (s *Server) recordJob(ctx context.Context, b store.Backend, kind, message string) {
	cur, err := s.store.Backend(ctx, b.Name)
	if err != nil || cur.OwnerID != b.OwnerID {
		s.log.Info("backend event", "backend", b.Name, "kind", kind, "message", message, "recorded", false)
		return
	}
	s.record(ctx, cur, kind, message)
}

// backupFailure says why a backup failed, in words for the backend's events and the listing.
func backupFailure(ctx context.Context, err error) string {
	var ae *httpapi.Error
	var be *backuparchive.Error
	switch {
	case errors.Is(err, errBackupQuota):
		return errBackupQuota.Error()
	case ctx.Err() != nil:
		return "the control plane stopped during the backup"
	case errors.As(err, &be):
		return "the archive does not verify: " + be.Error()
	case errors.As(err, &ae):
		return ae.Message
	}
	return err.Error()
}

// byteSize says a size the way the panel shows it (B, KB, MB, GB in powers of 1024), so a
// small backup reads "12.3 KB" rather than "0.0 MB".
func byteSize(n int64) string {
	units := []string{"B", "KB", "MB", "GB", "TB"}
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %s", f, units[i])
}

// streamBackup writes the archive to the temporary file, then verifies it and renames it into
// place. It returns the archive's size and sha256 (hex).
func (s *Server) streamBackup(ctx context.Context, r *backupRun) (int64, string, error) {
	resp, err := s.callAdmin(ctx, r.backend, http.MethodGet, "/admin/backup", "", nil, 0)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, "", fmt.Errorf("the backend answered %s", adminFailure(resp))
	}
	tmp := s.backupTempPath(r.row.ID)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, "", fmt.Errorf("create backup file: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	count := &countingWriter{limit: r.allowance}
	stop := s.heartbeat(ctx, r.row.ID, count)
	_, err = io.Copy(io.MultiWriter(count, f, h), resp.Body)
	stop()
	size := count.n.Load()
	if err != nil {
		if errors.Is(err, errBackupQuota) {
			return size, "", err
		}
		return size, "", fmt.Errorf("the archive stream broke off after %d bytes: %w", size, err)
	}
	if err := f.Sync(); err != nil {
		return size, "", fmt.Errorf("write backup file: %w", err)
	}
	if err := verifyFile(tmp, false); err != nil {
		return size, "", err
	}
	if err := os.Rename(tmp, s.backupPath(r.row.ID)); err != nil {
		return size, "", fmt.Errorf("store backup file: %w", err)
	}
	return size, hex.EncodeToString(h.Sum(nil)), nil
}

// heartbeat records the backup's progress until stop is called.
func (s *Server) heartbeat(ctx context.Context, id string, count *countingWriter) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(backupHeartbeat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if err := s.store.BackupProgress(ctx, id, count.n.Load(), time.Now()); err != nil && ctx.Err() == nil {
					s.log.Warn("backup progress", "backup", id, "err", err)
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// countingWriter counts bytes and refuses to go past limit (when not negative).
type countingWriter struct {
	n     atomic.Int64
	limit int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.limit >= 0 && c.n.Load()+int64(len(p)) > c.limit {
		return 0, errBackupQuota
	}
	c.n.Add(int64(len(p)))
	return len(p), nil
}

// adminFailure describes a backend's error answer: its code and message when it has the
// contract's shape, else the status.
func adminFailure(resp *http.Response) string {
	var body httpapi.ErrorBody
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(raw, &body) == nil && body.Error.Code != "" {
		return fmt.Sprintf("%d %s: %s", resp.StatusCode, body.Error.Code, body.Error.Message)
	}
	return resp.Status
}
