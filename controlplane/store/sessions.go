package store

import (
	"context"
	"fmt"
	"time"
)

// CreateSession stores a signed-in browser. ErrConflict if the token hash is taken,
// ErrNotFound if the developer does not exist.
func (s *SQL) CreateSession(ctx context.Context, se Session) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO sessions (token_hash, developer_id, csrf_token, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`),
		se.TokenHash, se.DeveloperID, se.CSRFToken, millis(se.CreatedAt), millis(se.ExpiresAt))
	switch {
	case s.violated(err, uniqueViolation):
		err = ErrConflict
	case s.violated(err, foreignKeyViolation):
		err = fmt.Errorf("developer %s: %w", se.DeveloperID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByTokenHash authenticates a request in one query: the session with its developer,
// unless it has expired at now.
func (s *SQL) SessionByTokenHash(ctx context.Context, tokenHash string, now time.Time) (Session, Developer, error) {
	row := s.db.QueryRowContext(ctx, s.q(`SELECT s.token_hash, s.developer_id, s.csrf_token, s.created_at, s.expires_at,
			d.id, d.email, d.password_hash, d.role, d.created_at
		FROM sessions s JOIN developers d ON d.id = s.developer_id
		WHERE s.token_hash = ? AND s.expires_at > ?`), tokenHash, millis(orNow(now)))
	var se Session
	var d Developer
	var sCreated, sExpires, dCreated int64
	var role string
	err := row.Scan(&se.TokenHash, &se.DeveloperID, &se.CSRFToken, &sCreated, &sExpires,
		&d.ID, &d.Email, &d.PasswordHash, &role, &dCreated)
	if err != nil {
		return Session{}, Developer{}, fmt.Errorf("session: %w", notFound(err))
	}
	se.CreatedAt, se.ExpiresAt = fromMillis(sCreated), fromMillis(sExpires)
	d.Role, d.CreatedAt = Role(role), fromMillis(dCreated)
	return se, d, nil
}

// DeleteSession signs a browser out; deleting a session that is already gone is not an error,
// so signing out twice is harmless.
func (s *SQL) DeleteSession(ctx context.Context, tokenHash string) error {
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE token_hash = ?`), tokenHash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes the sessions expired at now (the periodic sweep) and says how
// many there were.
func (s *SQL) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE expires_at <= ?`), millis(orNow(now)))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return n, nil
}
