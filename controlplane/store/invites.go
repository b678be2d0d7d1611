package store

import (
	"context"
	"fmt"
)

const inviteCols = `id, code_hash, email, created_by, created_at, expires_at, used_at, used_by`

// CreateInvite stores an invite; ErrConflict if its id or code hash is taken.
func (s *SQL) CreateInvite(ctx context.Context, inv Invite) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO invites (`+inviteCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		inv.ID, inv.CodeHash, inv.Email, inv.CreatedBy, millis(inv.CreatedAt), millis(inv.ExpiresAt),
		millis(inv.UsedAt), inv.UsedBy)
	if s.violated(err, uniqueViolation) {
		err = ErrConflict
	}
	if err != nil {
		return fmt.Errorf("create invite %s: %w", inv.ID, err)
	}
	return nil
}

// ListInvites lists every invite, used and expired ones included, newest first.
func (s *SQL) ListInvites(ctx context.Context) ([]Invite, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+inviteCols+` FROM invites ORDER BY created_at DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list invites: %w", err)
	}
	defer rows.Close()
	var invs []Invite
	for rows.Next() {
		var inv Invite
		var created, expires, used int64
		if err := rows.Scan(&inv.ID, &inv.CodeHash, &inv.Email, &inv.CreatedBy, &created, &expires, &used, &inv.UsedBy); err != nil {
			return nil, fmt.Errorf("list invites: %w", err)
		}
		inv.CreatedAt, inv.ExpiresAt, inv.UsedAt = fromMillis(created), fromMillis(expires), fromMillis(used)
		invs = append(invs, inv)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list invites: %w", err)
	}
	return invs, nil
}

// DeleteInvite revokes an invite (or forgets a used one); ErrNotFound if there is none.
func (s *SQL) DeleteInvite(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM invites WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("delete invite %s: %w", id, err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return fmt.Errorf("delete invite %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("delete invite %s: %w", id, ErrNotFound)
	}
	return nil
}
