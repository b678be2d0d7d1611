package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

const developerCols = `id, email, password_hash, role, created_at`

// Register creates the account in one transaction with the checks that decide whether it may
// exist, so that two concurrent first registrations yield one operator and an invite is
// consumed at most once: PostgreSQL locks the developers table against other registrations,
// SQLite's immediate transaction holds the write lock.
func (s *SQL) Register(ctx context.Context, r Registration) (Developer, error) {
	now := orNow(r.Now)
	d := Developer{
		ID:           r.ID,
		Email:        r.Email,
		PasswordHash: r.PasswordHash,
		Role:         RoleDeveloper,
		CreatedAt:    stored(now),
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if s.d.lockRegister != "" {
			if _, err := tx.ExecContext(ctx, s.d.lockRegister); err != nil {
				return fmt.Errorf("lock: %w", err)
			}
		}
		var first bool
		if err := tx.QueryRowContext(ctx, `SELECT NOT EXISTS (SELECT 1 FROM developers)`).Scan(&first); err != nil {
			return fmt.Errorf("count developers: %w", err)
		}
		if first {
			d.Role = RoleOperator
		} else if err := s.admit(ctx, tx, r, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO developers (`+developerCols+`) VALUES (?, ?, ?, ?, ?)`),
			d.ID, d.Email, d.PasswordHash, string(d.Role), millis(d.CreatedAt))
		if s.violated(err, uniqueViolation) {
			return ErrConflict
		}
		return err
	})
	if err != nil {
		return Developer{}, fmt.Errorf("register %s: %w", r.Email, err)
	}
	return d, nil
}

// admit applies the registration mode to a registration that is not the first, consuming the
// invite in invite mode. A missing or unknown mode counts as invite: invites exist only if an
// operator issued them, so that is the safe reading.
func (s *SQL) admit(ctx context.Context, tx *sql.Tx, r Registration, now time.Time) error {
	var mode string
	err := tx.QueryRowContext(ctx, s.q(`SELECT value FROM settings WHERE key = ?`), SettingRegistration).Scan(&mode)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read registration mode: %w", err)
	}
	switch RegistrationMode(mode) {
	case RegistrationOpen:
		return nil
	case RegistrationClosed:
		return ErrRegistrationClosed
	}
	if r.InviteCodeHash == "" {
		return ErrInviteInvalid
	}
	// One conditional update: under concurrency only one registration can flip used_at.
	res, err := tx.ExecContext(ctx, s.q(`UPDATE invites SET used_at = ?, used_by = ?
		WHERE code_hash = ? AND used_at = 0 AND expires_at > ? AND (email = '' OR email = ?)`),
		millis(now), r.ID, r.InviteCodeHash, millis(now), r.Email)
	if err != nil {
		return fmt.Errorf("use invite: %w", err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return err
	}
	if n != 1 {
		return ErrInviteInvalid
	}
	return nil
}

// DeveloperByEmail finds the account signing in.
func (s *SQL) DeveloperByEmail(ctx context.Context, email string) (Developer, error) {
	d, err := scanDeveloper(s.db.QueryRowContext(ctx, s.q(`SELECT `+developerCols+` FROM developers WHERE email = ?`), email))
	if err != nil {
		return Developer{}, fmt.Errorf("developer %s: %w", email, notFound(err))
	}
	return d, nil
}

// DeveloperByID finds a session's or a backend's account.
func (s *SQL) DeveloperByID(ctx context.Context, id string) (Developer, error) {
	d, err := scanDeveloper(s.db.QueryRowContext(ctx, s.q(`SELECT `+developerCols+` FROM developers WHERE id = ?`), id))
	if err != nil {
		return Developer{}, fmt.Errorf("developer %s: %w", id, notFound(err))
	}
	return d, nil
}

// ListDevelopers lists the accounts oldest first, the operator at the top.
func (s *SQL) ListDevelopers(ctx context.Context) ([]Developer, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+developerCols+` FROM developers ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list developers: %w", err)
	}
	defer rows.Close()
	var ds []Developer
	for rows.Next() {
		d, err := scanDeveloper(rows)
		if err != nil {
			return nil, fmt.Errorf("list developers: %w", err)
		}
		ds = append(ds, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list developers: %w", err)
	}
	return ds, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanDeveloper reads developerCols.
func scanDeveloper(r scanner) (Developer, error) {
	var d Developer
	var role string
	var created int64
	if err := r.Scan(&d.ID, &d.Email, &d.PasswordHash, &role, &created); err != nil {
		return Developer{}, err
	}
	d.Role = Role(role)
	d.CreatedAt = fromMillis(created)
	return d, nil
}
