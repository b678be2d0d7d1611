package store

import (
	"context"
	"testing"
	"time"
)

func newBackup(id, backend, owner string, kind BackupKind, created time.Time) Backup {
	return Backup{ID: id, Backend: backend, OwnerID: owner, Kind: kind, State: BackupRunning, CreatedAt: created, UpdatedAt: created}
}

func TestBackupLifecycle(t *testing.T) {
	each(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		b := newBackup("b1", "shop", "alice", BackupManual, t0)
		wantErr(t, "create", s.CreateBackup(ctx, b), nil)
		wantErr(t, "a second running backup of the backend", s.CreateBackup(ctx, newBackup("b2", "shop", "alice", BackupScheduled, at(time.Second))), ErrConflict)
		wantErr(t, "same id", s.CreateBackup(ctx, newBackup("b1", "other", "alice", BackupManual, t0)), ErrConflict)
		wantErr(t, "another backend at once", s.CreateBackup(ctx, newBackup("o1", "other", "bob", BackupManual, t0)), nil)

		wantErr(t, "progress", s.BackupProgress(ctx, "b1", 500, at(time.Second)), nil)
		used, err := s.BackupBytes(ctx, "alice")
		wantErr(t, "bytes", err, nil)
		wantEqual(t, "bytes while running", used, int64(500))

		res := BackupResult{State: BackupReady, Bytes: 1000, SHA256: "ab", Now: at(2 * time.Second)}
		wantErr(t, "finish", s.FinishBackup(ctx, "b1", res), nil)
		wantErr(t, "finish twice", s.FinishBackup(ctx, "b1", res), ErrStale)
		wantErr(t, "finish unknown", s.FinishBackup(ctx, "nope", res), ErrNotFound)
		got, err := s.Backup(ctx, "b1")
		wantErr(t, "read", err, nil)
		wantEqual(t, "ready", got, Backup{ID: "b1", Backend: "shop", OwnerID: "alice", Kind: BackupManual, State: BackupReady,
			Bytes: 1000, SHA256: "ab", CreatedAt: t0, UpdatedAt: at(2 * time.Second)})

		// Another backup may run now; a failed one does not count toward the quota.
		wantErr(t, "create after", s.CreateBackup(ctx, newBackup("b2", "shop", "alice", BackupScheduled, at(time.Minute))), nil)
		wantErr(t, "fail", s.FinishBackup(ctx, "b2", BackupResult{State: BackupFailed, Bytes: 77, Error: "boom"}), nil)
		used, _ = s.BackupBytes(ctx, "alice")
		wantEqual(t, "bytes", used, int64(1000))

		list, err := s.ListBackups(ctx, "shop", "alice")
		wantErr(t, "list", err, nil)
		if len(list) != 2 || list[0].ID != "b2" || list[1].ID != "b1" {
			t.Fatalf("list = %+v, want b2 then b1", list)
		}
		none, _ := s.ListBackups(ctx, "shop", "bob")
		wantEqual(t, "another owner's", len(none), 0)
		all, _ := s.ListBackups(ctx, "shop", "")
		wantEqual(t, "everyone's", len(all), 2)

		wantErr(t, "delete", s.DeleteBackup(ctx, "b1"), nil)
		wantErr(t, "delete again", s.DeleteBackup(ctx, "b1"), ErrNotFound)
		_, err = s.Backup(ctx, "b1")
		wantErr(t, "read deleted", err, ErrNotFound)
	})
}

func TestFailStaleBackups(t *testing.T) {
	each(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		wantErr(t, "old", s.CreateBackup(ctx, newBackup("old", "a", "alice", BackupManual, t0)), nil)
		wantErr(t, "fresh", s.CreateBackup(ctx, newBackup("fresh", "b", "alice", BackupManual, t0)), nil)
		wantErr(t, "progress", s.BackupProgress(ctx, "fresh", 10, at(time.Hour)), nil)
		stale, err := s.FailStaleBackups(ctx, at(30*time.Minute), "lost", at(time.Hour))
		wantErr(t, "fail stale", err, nil)
		if len(stale) != 1 || stale[0].ID != "old" || stale[0].State != BackupFailed || stale[0].Error != "lost" {
			t.Fatalf("stale = %+v, want old, failed", stale)
		}
		fresh, _ := s.Backup(ctx, "fresh")
		wantEqual(t, "fresh state", fresh.State, BackupRunning)
		wantErr(t, "finish after stale", s.FinishBackup(ctx, "old", BackupResult{State: BackupReady}), ErrStale)
	})
}

func TestBackendBackupSettings(t *testing.T) {
	each(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		in := newBackend("shop", "alice")
		in.CopyFrom = "b1"
		created, err := s.CreateBackend(ctx, in)
		wantErr(t, "create", err, nil)
		wantEqual(t, "copy from", created.CopyFrom, "b1")
		got, err := s.SetBackupSettings(ctx, "shop", ScheduleHourly, 3, at(time.Second))
		wantErr(t, "set", err, nil)
		if got.BackupSchedule != ScheduleHourly || got.BackupKeep != 3 {
			t.Fatalf("settings = %q %d", got.BackupSchedule, got.BackupKeep)
		}
		_, err = s.SetBackupSettings(ctx, "nope", ScheduleOff, 1, t0)
		wantErr(t, "set unknown", err, ErrNotFound)
		wantErr(t, "clear stale", s.ClearCopyFrom(ctx, "shop", 7), ErrStale)
		wantErr(t, "clear", s.ClearCopyFrom(ctx, "shop", created.Operation), nil)
		read, _ := s.Backend(ctx, "shop")
		if read.CopyFrom != "" || read.BackupSchedule != ScheduleHourly {
			t.Fatalf("read back %+v", read)
		}
	})
}
