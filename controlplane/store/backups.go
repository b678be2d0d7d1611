package store

import (
	"context"
	"fmt"
	"time"
)

const backupCols = `id, backend, owner_id, kind, state, bytes, sha256, error, created_at, updated_at`

// SetBackupSettings writes the backend's own backup schedule and keep.
func (s *SQL) SetBackupSettings(ctx context.Context, name string, schedule BackupSchedule, keep int, now time.Time) (Backend, error) {
	b, err := scanBackend(s.db.QueryRowContext(ctx, s.q(`UPDATE backends SET backup_schedule = ?, backup_keep = ?, updated_at = ?
		WHERE name = ? RETURNING `+backendCols), string(schedule), keep, millis(orNow(now)), name))
	if err != nil {
		return Backend{}, fmt.Errorf("set backup settings of %s: %w", name, notFound(err))
	}
	return b, nil
}

// ClearCopyFrom forgets the pending copy only on the operation that attempted it, so a
// re-create asked for meanwhile keeps its own.
func (s *SQL) ClearCopyFrom(ctx context.Context, name string, operation int64) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE backends SET copy_from = '' WHERE name = ? AND operation = ?`), name, operation)
	if err != nil {
		return fmt.Errorf("clear copy of %s: %w", name, err)
	}
	if err := s.onOperation(ctx, s.db, res, name); err != nil {
		return fmt.Errorf("clear copy of %s@%d: %w", name, operation, err)
	}
	return nil
}

// CreateBackup inserts the row; the partial unique index refuses a second running backup of
// the same backend, from any control plane.
func (s *SQL) CreateBackup(ctx context.Context, b Backup) error {
	now := orNow(b.CreatedAt)
	updated := b.UpdatedAt
	if updated.IsZero() {
		updated = now
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO backups (`+backupCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		b.ID, b.Backend, b.OwnerID, string(b.Kind), string(b.State), b.Bytes, b.SHA256, b.Error, millis(now), millis(updated))
	if s.violated(err, uniqueViolation) {
		err = ErrConflict
	}
	if err != nil {
		return fmt.Errorf("create backup of %s: %w", b.Backend, err)
	}
	return nil
}

// Backup reads one backup.
func (s *SQL) Backup(ctx context.Context, id string) (Backup, error) {
	b, err := scanBackup(s.db.QueryRowContext(ctx, s.q(`SELECT `+backupCols+` FROM backups WHERE id = ?`), id))
	if err != nil {
		return Backup{}, fmt.Errorf("backup %s: %w", id, notFound(err))
	}
	return b, nil
}

// ListBackups lists newest first; the id breaks ties between backups of the same millisecond.
func (s *SQL) ListBackups(ctx context.Context, backend, ownerID string) ([]Backup, error) {
	query, args := `SELECT `+backupCols+` FROM backups WHERE backend = ?`, []any{backend}
	if ownerID != "" {
		query, args = query+` AND owner_id = ?`, append(args, ownerID)
	}
	rows, err := s.db.QueryContext(ctx, s.q(query+` ORDER BY created_at DESC, id DESC`), args...)
	if err != nil {
		return nil, fmt.Errorf("list backups of %s: %w", backend, err)
	}
	defer rows.Close()
	var out []Backup
	for rows.Next() {
		b, err := scanBackup(rows)
		if err != nil {
			return nil, fmt.Errorf("list backups of %s: %w", backend, err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list backups of %s: %w", backend, err)
	}
	return out, nil
}

// BackupProgress touches a running backup only.
func (s *SQL) BackupProgress(ctx context.Context, id string, bytes int64, now time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE backups SET bytes = ?, updated_at = ? WHERE id = ? AND state = ?`),
		bytes, millis(orNow(now)), id, string(BackupRunning))
	if err != nil {
		return fmt.Errorf("backup %s progress: %w", id, err)
	}
	return nil
}

// FinishBackup writes the result only over a running backup, so a backup the leader already
// declared stale stays failed.
func (s *SQL) FinishBackup(ctx context.Context, id string, r BackupResult) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE backups SET state = ?, bytes = ?, sha256 = ?, error = ?, updated_at = ?
		WHERE id = ? AND state = ?`),
		string(r.State), r.Bytes, r.SHA256, r.Error, millis(orNow(r.Now)), id, string(BackupRunning))
	if err != nil {
		return fmt.Errorf("finish backup %s: %w", id, err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return fmt.Errorf("finish backup %s: %w", id, err)
	}
	if n > 0 {
		return nil
	}
	if _, err := s.Backup(ctx, id); err != nil {
		return fmt.Errorf("finish backup %s: %w", id, err)
	}
	return fmt.Errorf("finish backup %s: %w", id, ErrStale)
}

// FailStaleBackups is one statement, so a backup that makes progress meanwhile is not failed.
func (s *SQL) FailStaleBackups(ctx context.Context, before time.Time, message string, now time.Time) ([]Backup, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`UPDATE backups SET state = ?, error = ?, updated_at = ?
		WHERE state = ? AND updated_at < ? RETURNING `+backupCols),
		string(BackupFailed), message, millis(orNow(now)), string(BackupRunning), millis(before))
	if err != nil {
		return nil, fmt.Errorf("fail stale backups: %w", err)
	}
	defer rows.Close()
	var out []Backup
	for rows.Next() {
		b, err := scanBackup(rows)
		if err != nil {
			return nil, fmt.Errorf("fail stale backups: %w", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("fail stale backups: %w", err)
	}
	return out, nil
}

// DeleteBackup forgets a backup; ErrNotFound if there is none.
func (s *SQL) DeleteBackup(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM backups WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("delete backup %s: %w", id, err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return fmt.Errorf("delete backup %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("delete backup %s: %w", id, ErrNotFound)
	}
	return nil
}

// BackupBytes counts running backups too: what they have so far is on disk already.
func (s *SQL) BackupBytes(ctx context.Context, ownerID string) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) FROM backups WHERE owner_id = ? AND state <> ?`),
		ownerID, string(BackupFailed)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("backup bytes of %s: %w", ownerID, err)
	}
	return n, nil
}

// scanBackup reads backupCols.
func scanBackup(r scanner) (Backup, error) {
	var b Backup
	var kind, state string
	var created, updated int64
	if err := r.Scan(&b.ID, &b.Backend, &b.OwnerID, &kind, &state, &b.Bytes, &b.SHA256, &b.Error, &created, &updated); err != nil {
		return Backup{}, err
	}
	b.Kind, b.State = BackupKind(kind), BackupState(state)
	b.CreatedAt, b.UpdatedAt = fromMillis(created), fromMillis(updated)
	return b, nil
}
