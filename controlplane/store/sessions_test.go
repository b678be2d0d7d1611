package store

import (
	"context"
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	each(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		d, err := s.Register(ctx, reg("op", "op@example.com", t0))
		wantErr(t, "register", err, nil)

		live := Session{TokenHash: "live", DeveloperID: "op", CSRFToken: "csrf", CreatedAt: t0, ExpiresAt: at(time.Hour)}
		for _, se := range []Session{
			live,
			{TokenHash: "old", DeveloperID: "op", CSRFToken: "c2", CreatedAt: t0, ExpiresAt: at(time.Minute)},
			{TokenHash: "older", DeveloperID: "op", CSRFToken: "c3", CreatedAt: t0, ExpiresAt: at(time.Second)},
		} {
			wantErr(t, "create "+se.TokenHash, s.CreateSession(ctx, se), nil)
		}
		wantErr(t, "duplicate token", s.CreateSession(ctx, live), ErrConflict)
		wantErr(t, "unknown developer", s.CreateSession(ctx,
			Session{TokenHash: "x", DeveloperID: "nobody", CreatedAt: t0, ExpiresAt: at(time.Hour)}), ErrNotFound)

		now := at(time.Minute) // "old" expires exactly now
		se, dev, err := s.SessionByTokenHash(ctx, "live", now)
		wantErr(t, "live", err, nil)
		wantEqual(t, "session", se, live)
		wantEqual(t, "session's developer", dev, d)
		_, _, err = s.SessionByTokenHash(ctx, "old", now)
		wantErr(t, "expired", err, ErrNotFound)
		_, _, err = s.SessionByTokenHash(ctx, "old", now.Add(-time.Millisecond))
		wantErr(t, "not yet expired", err, nil)
		_, _, err = s.SessionByTokenHash(ctx, "nope", now)
		wantErr(t, "unknown", err, ErrNotFound)

		n, err := s.DeleteExpiredSessions(ctx, now)
		wantErr(t, "delete expired", err, nil)
		if n != 2 {
			t.Fatalf("deleted %d expired sessions, want 2", n)
		}
		n, err = s.DeleteExpiredSessions(ctx, now)
		wantErr(t, "delete expired again", err, nil)
		if n != 0 {
			t.Fatalf("deleted %d expired sessions the second time, want 0", n)
		}
		_, _, err = s.SessionByTokenHash(ctx, "old", now.Add(-time.Hour))
		wantErr(t, "swept", err, ErrNotFound)

		wantErr(t, "delete", s.DeleteSession(ctx, "live"), nil)
		_, _, err = s.SessionByTokenHash(ctx, "live", now)
		wantErr(t, "deleted", err, ErrNotFound)
		wantErr(t, "delete again", s.DeleteSession(ctx, "live"), nil)
	})
}
