package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

const backendCols = `name, owner_id, desired, state, purge, node, sealed_api_key, sealed_admin_token,
	operation, attempts, next_attempt_at, last_error, created_at, updated_at,
	backup_schedule, backup_keep, copy_from, api_replicas, api_image, volumes,
	pending_api_key, pending_key_revoke, pending_key_since`

// CreateBackend inserts the backend, or revives the owner's deleted backend of that name (see
// Store). Both happen in one transaction: a revive is a conditional update, so a concurrent
// create or delete of the same name cannot slip between the check and the write.
//
// The caller's Operation is ignored (a new backend starts at 1); an empty Desired or State
// means running / creating. UpdatedAt (else CreatedAt, else the current time) is the time of
// the change.
func (s *SQL) CreateBackend(ctx context.Context, b Backend, first ...Event) (Backend, error) {
	now := b.UpdatedAt
	if now.IsZero() {
		now = orNow(b.CreatedAt)
	}
	created := b.CreatedAt
	if created.IsZero() {
		created = now
	}
	desired, state := b.Desired, b.State
	if desired == "" {
		desired = DesiredRunning
	}
	if state == "" {
		state = StateCreating
	}
	var out Backend
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanBackend(tx.QueryRowContext(ctx, s.q(`UPDATE backends SET
				desired = ?, state = ?, purge = ?, operation = operation + 1, attempts = 0,
				next_attempt_at = 0, last_error = '', updated_at = ?, copy_from = ?
			WHERE name = ? AND owner_id = ? AND state = ?
			RETURNING `+backendCols),
			string(DesiredRunning), string(StateCreating), false, millis(now), b.CopyFrom,
			b.Name, b.OwnerID, string(StateDeleted)))
		if err == nil {
			return s.addFirstEvents(ctx, tx, out, first)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("revive: %w", err)
		}
		out, err = scanBackend(tx.QueryRowContext(ctx, s.q(`INSERT INTO backends (`+backendCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			RETURNING `+backendCols),
			b.Name, b.OwnerID, string(desired), string(state), b.Purge, b.Node, b.SealedAPIKey, b.SealedAdminTok,
			b.Attempts, millis(b.NextAttemptAt), b.LastError, millis(created), millis(now),
			string(b.BackupSchedule), b.BackupKeep, b.CopyFrom, max(b.APIReplicas, 1), b.APIImage, b.Volumes,
			append([]byte{}, b.PendingAPIKey...), b.PendingKeyRevoke, millis(b.PendingKeySince)))
		if s.violated(err, uniqueViolation) {
			return ErrConflict
		}
		if err != nil {
			return err
		}
		return s.addFirstEvents(ctx, tx, out, first)
	})
	if err != nil {
		return Backend{}, fmt.Errorf("create backend %s: %w", b.Name, err)
	}
	return out, nil
}

// addFirstEvents records the events a request starts an operation with, in its transaction:
// committed together with the new operation, they come before anything the reconciler records
// of it.
func (s *SQL) addFirstEvents(ctx context.Context, tx *sql.Tx, b Backend, first []Event) error {
	for _, e := range first {
		e.Backend, e.Operation = b.Name, b.Operation
		if e.State == "" {
			e.State = b.State
		}
		if _, err := s.addEvent(ctx, tx, e); err != nil {
			return err
		}
	}
	return nil
}

// Backend reads one backend.
func (s *SQL) Backend(ctx context.Context, name string) (Backend, error) {
	b, err := scanBackend(s.db.QueryRowContext(ctx, s.q(`SELECT `+backendCols+` FROM backends WHERE name = ?`), name))
	if err != nil {
		return Backend{}, fmt.Errorf("backend %s: %w", name, notFound(err))
	}
	return b, nil
}

// ListBackends lists one owner's backends, or everyone's for the operator and the reconciler.
func (s *SQL) ListBackends(ctx context.Context, ownerID string) ([]Backend, error) {
	query, args := `SELECT `+backendCols+` FROM backends ORDER BY name`, []any(nil)
	if ownerID != "" {
		query, args = `SELECT `+backendCols+` FROM backends WHERE owner_id = ? ORDER BY name`, []any{ownerID}
	}
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("list backends: %w", err)
	}
	defer rows.Close()
	var bs []Backend
	for rows.Next() {
		b, err := scanBackend(rows)
		if err != nil {
			return nil, fmt.Errorf("list backends: %w", err)
		}
		bs = append(bs, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list backends: %w", err)
	}
	return bs, nil
}

// RequestDelete starts a delete operation in one statement; the new operation makes the
// reconciler's reports on the previous one stale. Last error and retry time are cleared with
// the attempts: they belonged to the previous operation.
func (s *SQL) RequestDelete(ctx context.Context, name string, purge bool, now time.Time, first ...Event) (Backend, error) {
	var b Backend
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		b, err = scanBackend(tx.QueryRowContext(ctx, s.q(`UPDATE backends SET
				desired = ?, state = ?, purge = ?, operation = operation + 1, attempts = 0,
				next_attempt_at = 0, last_error = '', updated_at = ?
			WHERE name = ?
			RETURNING `+backendCols),
			string(DesiredDeleted), string(StateDeleting), purge, millis(orNow(now)), name))
		if err != nil {
			return notFound(err)
		}
		return s.addFirstEvents(ctx, tx, b, first)
	})
	if err != nil {
		return Backend{}, fmt.Errorf("request delete %s: %w", name, err)
	}
	return b, nil
}

// UpdateStatus writes the report only if the backend is still on operation, so a slow worker
// can never overwrite the state of the operation that replaced its own.
func (s *SQL) UpdateStatus(ctx context.Context, name string, operation int64, u StatusUpdate) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE backends SET
			state = ?, last_error = ?, attempts = ?, next_attempt_at = ?,
			node = COALESCE(NULLIF(?, ''), node), updated_at = ?
		WHERE name = ? AND operation = ?`),
		string(u.State), u.LastError, u.Attempts, millis(u.NextAttemptAt), u.Node, millis(orNow(u.Now)),
		name, operation)
	if err != nil {
		return fmt.Errorf("update status %s: %w", name, err)
	}
	if err := s.onOperation(ctx, s.db, res, name); err != nil {
		return fmt.Errorf("update status %s@%d: %w", name, operation, err)
	}
	return nil
}

// BeginKeyRotation records a rotation under way (see Store); the conditional update makes it
// the only one.
func (s *SQL) BeginKeyRotation(ctx context.Context, name string, sealed []byte, revoke bool, now time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE backends SET pending_api_key = ?, pending_key_revoke = ?, pending_key_since = ?
		WHERE name = ? AND length(pending_api_key) = 0`), sealed, revoke, millis(orNow(now)), name)
	if err != nil {
		return fmt.Errorf("begin key rotation %s: %w", name, err)
	}
	if err := s.onOperation(ctx, s.db, res, name); err != nil {
		if errors.Is(err, ErrStale) {
			err = ErrConflict
		}
		return fmt.Errorf("begin key rotation %s: %w", name, err)
	}
	return nil
}

// FinishKeyRotation stores the rotated key and ends the rotation, if it is still the one under
// way (see Store).
func (s *SQL) FinishKeyRotation(ctx context.Context, name string, pending, sealed []byte, now time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE backends SET sealed_api_key = ?, pending_api_key = ?,
			pending_key_revoke = ?, pending_key_since = 0, updated_at = ?
		WHERE name = ? AND pending_api_key = ?`), sealed, []byte{}, false, millis(orNow(now)), name, pending)
	if err != nil {
		return fmt.Errorf("finish key rotation %s: %w", name, err)
	}
	if err := s.onOperation(ctx, s.db, res, name); err != nil {
		return fmt.Errorf("finish key rotation %s: %w", name, err)
	}
	return nil
}

// AbandonKeyRotation ends a rotation the backend refused, if it is still the one under way (see
// Store).
func (s *SQL) AbandonKeyRotation(ctx context.Context, name string, pending []byte) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE backends SET pending_api_key = ?, pending_key_revoke = ?, pending_key_since = 0
		WHERE name = ? AND pending_api_key = ?`), []byte{}, false, name, pending)
	if err != nil {
		return fmt.Errorf("abandon key rotation %s: %w", name, err)
	}
	if err := s.onOperation(ctx, s.db, res, name); err != nil {
		return fmt.Errorf("abandon key rotation %s: %w", name, err)
	}
	return nil
}

// RemoveBackend forgets a purged backend and its events together, only if no newer operation
// (a re-create) has started since the purge began.
func (s *SQL) RemoveBackend(ctx context.Context, name string, operation int64) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM backends WHERE name = ? AND operation = ?`), name, operation)
		if err != nil {
			return err
		}
		if err := s.onOperation(ctx, tx, res, name); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`DELETE FROM events WHERE backend = ?`), name)
		return err
	})
	if err != nil {
		return fmt.Errorf("remove backend %s@%d: %w", name, operation, err)
	}
	return nil
}

// querier is a *sql.DB or *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// onOperation checks a statement conditional on the backend's operation (or on another of its
// fields) touched its row; if not, it tells why: ErrNotFound if the backend is gone, ErrStale
// if it has moved on.
func (s *SQL) onOperation(ctx context.Context, q querier, res sql.Result, name string) error {
	n, err := rowsAffected(res)
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	var one int
	err = q.QueryRowContext(ctx, s.q(`SELECT 1 FROM backends WHERE name = ?`), name).Scan(&one)
	if err != nil {
		return notFound(err)
	}
	return ErrStale
}

// scanBackend reads backendCols.
func scanBackend(r scanner) (Backend, error) {
	var b Backend
	var desired, state, schedule string
	var next, created, updated, pendingSince int64
	if err := r.Scan(&b.Name, &b.OwnerID, &desired, &state, &b.Purge, &b.Node, &b.SealedAPIKey, &b.SealedAdminTok,
		&b.Operation, &b.Attempts, &next, &b.LastError, &created, &updated,
		&schedule, &b.BackupKeep, &b.CopyFrom, &b.APIReplicas, &b.APIImage, &b.Volumes,
		&b.PendingAPIKey, &b.PendingKeyRevoke, &pendingSince); err != nil {
		return Backend{}, err
	}
	b.Desired, b.State, b.BackupSchedule = Desired(desired), State(state), BackupSchedule(schedule)
	b.NextAttemptAt, b.CreatedAt, b.UpdatedAt = fromMillis(next), fromMillis(created), fromMillis(updated)
	b.PendingKeySince = fromMillis(pendingSince)
	if len(b.PendingAPIKey) == 0 {
		b.PendingAPIKey = nil // no rotation under way, however the driver reads an empty value
	}
	return b, nil
}
