package store

import (
	"context"
	"testing"
	"time"
)

func TestInvites(t *testing.T) {
	each(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		invs, err := s.ListInvites(ctx)
		wantErr(t, "list empty", err, nil)
		if len(invs) != 0 {
			t.Fatalf("invites on a fresh store: %+v", invs)
		}
		a := Invite{ID: "a", CodeHash: "ha", Email: "x@example.com", CreatedBy: "op", CreatedAt: at(time.Second), ExpiresAt: at(time.Hour)}
		b := Invite{ID: "b", CodeHash: "hb", CreatedBy: "op", CreatedAt: at(2 * time.Second), ExpiresAt: at(time.Hour),
			UsedAt: at(time.Minute), UsedBy: "someone"}
		c := Invite{ID: "c", CodeHash: "hc", CreatedBy: "op", CreatedAt: t0, ExpiresAt: at(time.Hour)}
		for _, inv := range []Invite{a, b, c} {
			wantErr(t, "create "+inv.ID, s.CreateInvite(ctx, inv), nil)
		}
		wantErr(t, "duplicate code", s.CreateInvite(ctx, Invite{ID: "d", CodeHash: "ha", CreatedAt: t0, ExpiresAt: t0}), ErrConflict)
		wantErr(t, "duplicate id", s.CreateInvite(ctx, Invite{ID: "a", CodeHash: "hd", CreatedAt: t0, ExpiresAt: t0}), ErrConflict)

		invs, err = s.ListInvites(ctx)
		wantErr(t, "list", err, nil)
		wantEqual(t, "newest first", invs, []Invite{b, a, c})

		wantErr(t, "delete", s.DeleteInvite(ctx, "a"), nil)
		wantErr(t, "delete again", s.DeleteInvite(ctx, "a"), ErrNotFound)
		invs, err = s.ListInvites(ctx)
		wantErr(t, "list after delete", err, nil)
		wantEqual(t, "after delete", invs, []Invite{b, c})
	})
}
