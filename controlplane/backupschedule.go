package controlplane

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/backpackhq/backpack/controlplane/store"
	"github.com/backpackhq/backpack/tools/httpapi"
)

// The backup scheduler runs on the leader only, beside the reconciler (see leader.go). Every
// BackupTick it fails the backups whose control plane died, then, backend by backend, takes
// the scheduled backup that is due and deletes the scheduled backups beyond keep. Scheduled
// backups are taken one after the other, so a tick never loads every backend at once.

// schedulePeriods are the schedules; the periods are in units of Config.BackupHour, and 0
// means never.
var schedulePeriods = map[store.BackupSchedule]int{store.ScheduleHourly: 1, store.ScheduleDaily: 24, store.ScheduleOff: 0}

// backupSettings are a backend's effective schedule and keep: its own, else the operator's.
func (s *Server) backupSettings(b store.Backend) (store.BackupSchedule, int) {
	schedule, keep := b.BackupSchedule, b.BackupKeep
	if schedule == "" {
		schedule = s.cfg.BackupSchedule
	}
	if keep == 0 {
		keep = s.cfg.BackupKeep
	}
	return schedule, keep
}

// scheduleBackups runs the scheduler until ctx (the leadership's term) ends.
func (s *Server) scheduleBackups(ctx context.Context) {
	t := time.NewTicker(s.cfg.BackupTick)
	defer t.Stop()
	for {
		s.backupTick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// backupTick is one look at every backend's backups.
func (s *Server) backupTick(ctx context.Context) {
	s.failStaleBackups(ctx)
	s.removeStaleUploads()
	list, err := s.store.ListBackends(ctx, "")
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("backup scheduler: list backends", "err", err)
		}
		return
	}
	for _, b := range list {
		if ctx.Err() != nil {
			return
		}
		if err := s.scheduledBackup(ctx, b); err != nil && ctx.Err() == nil {
			s.log.Error("backup scheduler", "backend", b.Name, "err", err)
		}
	}
}

// scheduledBackup takes the backend's scheduled backup if one is due, then applies retention.
func (s *Server) scheduledBackup(ctx context.Context, b store.Backend) error {
	if b.Desired != store.DesiredRunning || b.State != store.StateRunning && b.State != store.StateDegraded || b.CopyFrom != "" {
		return nil
	}
	schedule, keep := s.backupSettings(b)
	period := time.Duration(schedulePeriods[schedule]) * s.cfg.BackupHour
	if period == 0 {
		return nil
	}
	backups, err := s.store.ListBackups(ctx, b.Name, b.OwnerID)
	if err != nil {
		return err
	}
	due := true
	for _, bk := range backups {
		if bk.Kind == store.BackupScheduled {
			due = time.Since(bk.CreatedAt) >= period
			break
		}
	}
	if due {
		if err := s.takeScheduledBackup(ctx, b); err != nil {
			return err
		}
		if backups, err = s.store.ListBackups(ctx, b.Name, b.OwnerID); err != nil {
			return err
		}
	}
	return s.applyRetention(ctx, b, backups, keep)
}

// takeScheduledBackup takes the backup now. One the quota refuses is stored as failed, so
// the developer sees why and the next attempt waits for the next period.
func (s *Server) takeScheduledBackup(ctx context.Context, b store.Backend) error {
	run, err := s.startBackup(ctx, b, store.BackupScheduled)
	var ae *httpapi.Error
	switch {
	case err == nil:
		s.runBackup(ctx, run)
		return nil
	case errors.Is(err, errBackupInProgress) || errors.Is(err, errRestoreInProgress):
		return nil // the next tick tries again
	case errors.As(err, &ae) && ae.Code == errQuotaCode:
		now := time.Now()
		row := store.Backup{ID: newID(), Backend: b.Name, OwnerID: b.OwnerID, Kind: store.BackupScheduled,
			State: store.BackupFailed, Error: errBackupQuota.Error(), CreatedAt: now, UpdatedAt: now}
		if err := s.store.CreateBackup(ctx, row); err != nil {
			return err
		}
		s.record(ctx, b, "backup", fmt.Sprintf("backup %s failed: %s", row.ID, errBackupQuota))
		return nil
	}
	return err
}

// applyRetention deletes the oldest scheduled backups beyond keep: ready ones and failed ones
// each keep their newest keep. Manual backups are never deleted here.
func (s *Server) applyRetention(ctx context.Context, b store.Backend, backups []store.Backup, keep int) error {
	kept := map[store.BackupState]int{}
	for _, bk := range backups { // newest first
		if bk.Kind != store.BackupScheduled || bk.State == store.BackupRunning {
			continue
		}
		kept[bk.State]++
		if kept[bk.State] <= keep {
			continue
		}
		if err := s.deleteBackup(ctx, bk); err != nil {
			return err
		}
		if bk.State == store.BackupReady {
			s.record(ctx, b, "backup", fmt.Sprintf("backup %s deleted: only the newest %d scheduled backups are kept", bk.ID, keep))
		}
	}
	return nil
}

// deleteBackup forgets the row, then removes the file.
func (s *Server) deleteBackup(ctx context.Context, bk store.Backup) error {
	if err := s.store.DeleteBackup(ctx, bk.ID); err != nil {
		return err
	}
	if err := os.Remove(s.backupPath(bk.ID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("remove backup file", "backup", bk.ID, "err", err)
	}
	return nil
}

// failStaleBackups fails the backups whose control plane stopped recording progress (it
// died mid-backup) and removes their temporary files.
func (s *Server) failStaleBackups(ctx context.Context) {
	const msg = "the control plane taking it stopped"
	stale, err := s.store.FailStaleBackups(ctx, time.Now().Add(-backupStaleAfter), msg, time.Now())
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("backup scheduler: fail stale backups", "err", err)
		}
		return
	}
	for _, bk := range stale {
		_ = os.Remove(s.backupTempPath(bk.ID))
		if b, err := s.store.Backend(ctx, bk.Backend); err == nil && b.OwnerID == bk.OwnerID {
			s.record(ctx, b, "backup", fmt.Sprintf("backup %s failed: %s", bk.ID, msg))
		}
	}
}

// removeStaleUploads removes archives uploaded for a restore long ago: a control plane that
// died during the restore left them.
func (s *Server) removeStaleUploads() {
	matches, _ := filepath.Glob(filepath.Join(s.cfg.BackupDir, ".upload-*"))
	for _, path := range matches {
		if info, err := os.Stat(path); err == nil && time.Since(info.ModTime()) > staleUploadAfter {
			_ = os.Remove(path)
		}
	}
}
