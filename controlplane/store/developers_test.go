package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func reg(id, email string, now time.Time) Registration {
	return Registration{ID: id, Email: email, PasswordHash: "hash-" + id, Now: now}
}

func TestRegisterFirstIsOperatorWhateverTheMode(t *testing.T) {
	for _, mode := range []RegistrationMode{RegistrationClosed, RegistrationInvite, RegistrationOpen} {
		t.Run(string(mode), func(t *testing.T) {
			each(t, func(t *testing.T, s Store) {
				ctx := context.Background()
				wantErr(t, "set mode", s.SetSetting(ctx, SettingRegistration, string(mode)), nil)
				d, err := s.Register(ctx, reg("op", "op@example.com", t0))
				wantErr(t, "register first", err, nil)
				wantEqual(t, "first", d, Developer{ID: "op", Email: "op@example.com", PasswordHash: "hash-op",
					Role: RoleOperator, CreatedAt: t0})
			})
		})
	}
}

func TestRegisterModes(t *testing.T) {
	each(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		if _, err := s.Register(ctx, reg("op", "op@example.com", t0)); err != nil {
			t.Fatal(err)
		}

		// No setting: invite mode, and no invite was given.
		_, err := s.Register(ctx, reg("a", "a@example.com", at(time.Second)))
		wantErr(t, "no setting, no invite", err, ErrInviteInvalid)

		wantErr(t, "set closed", s.SetSetting(ctx, SettingRegistration, string(RegistrationClosed)), nil)
		_, err = s.Register(ctx, reg("a", "a@example.com", at(time.Second)))
		wantErr(t, "closed", err, ErrRegistrationClosed)

		wantErr(t, "set open", s.SetSetting(ctx, SettingRegistration, string(RegistrationOpen)), nil)
		d, err := s.Register(ctx, reg("a", "a@example.com", at(time.Second)))
		wantErr(t, "open", err, nil)
		if d.Role != RoleDeveloper {
			t.Fatalf("second account's role %q, want developer", d.Role)
		}
		_, err = s.Register(ctx, reg("b", "a@example.com", at(2*time.Second)))
		wantErr(t, "duplicate email", err, ErrConflict)
		if strings.Contains(strings.ToLower(err.Error()), "unique") || strings.Contains(err.Error(), "23505") {
			t.Fatalf("the conflict error leaks the driver's message: %v", err)
		}
		_, err = s.Register(ctx, reg("a", "other@example.com", at(2*time.Second)))
		wantErr(t, "duplicate id", err, ErrConflict)

		wantErr(t, "set invite", s.SetSetting(ctx, SettingRegistration, string(RegistrationInvite)), nil)
		_, err = s.Register(ctx, reg("c", "c@example.com", at(3*time.Second)))
		wantErr(t, "invite mode without invite", err, ErrInviteInvalid)

		ds, err := s.ListDevelopers(ctx)
		wantErr(t, "list", err, nil)
		if len(ds) != 2 || ds[0].ID != "op" || ds[1].ID != "a" {
			t.Fatalf("developers %+v, want op then a", ds)
		}
	})
}

func TestRegisterWithInvite(t *testing.T) {
	each(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		if _, err := s.Register(ctx, reg("op", "op@example.com", t0)); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "set invite", s.SetSetting(ctx, SettingRegistration, string(RegistrationInvite)), nil)
		invites := []Invite{
			{ID: "i-any", CodeHash: "h-any", CreatedBy: "op", CreatedAt: t0, ExpiresAt: at(time.Hour)},
			{ID: "i-bob", CodeHash: "h-bob", Email: "bob@example.com", CreatedBy: "op", CreatedAt: t0, ExpiresAt: at(time.Hour)},
			{ID: "i-old", CodeHash: "h-old", CreatedBy: "op", CreatedAt: t0, ExpiresAt: at(time.Minute)},
		}
		for _, inv := range invites {
			wantErr(t, "create invite "+inv.ID, s.CreateInvite(ctx, inv), nil)
		}
		now := at(time.Minute) // i-old expires exactly now
		try := func(id, email, code string) error {
			r := reg(id, email, now)
			r.InviteCodeHash = code
			_, err := s.Register(ctx, r)
			return err
		}
		wantErr(t, "unknown code", try("x", "x@example.com", "h-nope"), ErrInviteInvalid)
		wantErr(t, "expired", try("x", "x@example.com", "h-old"), ErrInviteInvalid)
		wantErr(t, "another email", try("x", "x@example.com", "h-bob"), ErrInviteInvalid)
		// A taken email fails without consuming the invite.
		wantErr(t, "taken email", try("x", "op@example.com", "h-any"), ErrConflict)
		wantErr(t, "any email", try("x", "x@example.com", "h-any"), nil)
		wantErr(t, "used", try("y", "y@example.com", "h-any"), ErrInviteInvalid)
		wantErr(t, "its email", try("bob", "bob@example.com", "h-bob"), nil)

		// The registration mode was not needed for these: open mode ignores invites.
		wantErr(t, "set open", s.SetSetting(ctx, SettingRegistration, string(RegistrationOpen)), nil)
		wantErr(t, "open ignores code", try("z", "z@example.com", "h-any"), nil)

		got, err := s.ListInvites(ctx)
		wantErr(t, "list invites", err, nil)
		used := map[string]Invite{}
		for _, inv := range got {
			used[inv.ID] = inv
		}
		if inv := used["i-any"]; !inv.UsedAt.Equal(now) || inv.UsedBy != "x" {
			t.Fatalf("i-any after use: %+v, want used at %v by x", inv, now)
		}
		if inv := used["i-bob"]; !inv.UsedAt.Equal(now) || inv.UsedBy != "bob" {
			t.Fatalf("i-bob after use: %+v", inv)
		}
		if inv := used["i-old"]; !inv.UsedAt.IsZero() || inv.UsedBy != "" {
			t.Fatalf("i-old was used: %+v", inv)
		}
	})
}

func TestDevelopers(t *testing.T) {
	each(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		wantErr(t, "set open", s.SetSetting(ctx, SettingRegistration, string(RegistrationOpen)), nil)
		// Registered out of time order: the list follows created_at.
		for _, r := range []Registration{
			reg("c", "c@example.com", at(3*time.Second)),
			reg("a", "a@example.com", at(time.Second)),
			reg("b", "b@example.com", at(2*time.Second)),
		} {
			if _, err := s.Register(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		want := Developer{ID: "b", Email: "b@example.com", PasswordHash: "hash-b", Role: RoleDeveloper, CreatedAt: at(2 * time.Second)}
		d, err := s.DeveloperByEmail(ctx, "b@example.com")
		wantErr(t, "by email", err, nil)
		wantEqual(t, "by email", d, want)
		d, err = s.DeveloperByID(ctx, "b")
		wantErr(t, "by id", err, nil)
		wantEqual(t, "by id", d, want)
		_, err = s.DeveloperByEmail(ctx, "nobody@example.com")
		wantErr(t, "unknown email", err, ErrNotFound)
		_, err = s.DeveloperByID(ctx, "nobody")
		wantErr(t, "unknown id", err, ErrNotFound)

		ds, err := s.ListDevelopers(ctx)
		wantErr(t, "list", err, nil)
		var ids []string
		for _, d := range ds {
			ids = append(ids, d.ID)
		}
		wantEqual(t, "list order", ids, []string{"a", "b", "c"})
		if ds[2].Role != RoleOperator || ds[0].Role != RoleDeveloper {
			t.Fatalf("first registered (c) must be the operator; got %+v", ds)
		}
	})
}

// TestRegisterRaceFirstOperator: concurrent registrations on an empty store make exactly one
// operator.
func TestRegisterRaceFirstOperator(t *testing.T) {
	each(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		wantErr(t, "set open", s.SetSetting(ctx, SettingRegistration, string(RegistrationOpen)), nil)
		const n = 12
		errs := race(t, s, n, func(i int) error {
			_, err := s.Register(ctx, reg(fmt.Sprint("d", i), fmt.Sprintf("d%d@example.com", i), t0))
			return err
		})
		for i, err := range errs {
			wantErr(t, fmt.Sprint("register ", i), err, nil)
		}
		ds, err := s.ListDevelopers(ctx)
		wantErr(t, "list", err, nil)
		operators := 0
		for _, d := range ds {
			if d.Role == RoleOperator {
				operators++
			}
		}
		if len(ds) != n || operators != 1 {
			t.Fatalf("%d developers with %d operators, want %d with 1", len(ds), operators, n)
		}
	})
}

// TestRegisterRaceClosed: in closed mode, of concurrent registrations on an empty store only
// the one that becomes the operator succeeds.
func TestRegisterRaceClosed(t *testing.T) {
	each(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		wantErr(t, "set closed", s.SetSetting(ctx, SettingRegistration, string(RegistrationClosed)), nil)
		const n = 12
		errs := race(t, s, n, func(i int) error {
			_, err := s.Register(ctx, reg(fmt.Sprint("d", i), fmt.Sprintf("d%d@example.com", i), t0))
			return err
		})
		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			default:
				wantErr(t, fmt.Sprint("register ", i), err, ErrRegistrationClosed)
			}
		}
		if ok != 1 {
			t.Fatalf("%d registrations succeeded, want 1", ok)
		}
	})
}

// TestInviteRace: concurrent registrations with one invite: exactly one gets in.
func TestInviteRace(t *testing.T) {
	each(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		if _, err := s.Register(ctx, reg("op", "op@example.com", t0)); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "set invite", s.SetSetting(ctx, SettingRegistration, string(RegistrationInvite)), nil)
		wantErr(t, "create invite", s.CreateInvite(ctx, Invite{ID: "i", CodeHash: "h", CreatedBy: "op",
			CreatedAt: t0, ExpiresAt: at(time.Hour)}), nil)
		const n = 12
		errs := race(t, s, n, func(i int) error {
			r := reg(fmt.Sprint("d", i), fmt.Sprintf("d%d@example.com", i), at(time.Second))
			r.InviteCodeHash = "h"
			_, err := s.Register(ctx, r)
			return err
		})
		ok := 0
		for i, err := range errs {
			if err == nil {
				ok++
				continue
			}
			wantErr(t, fmt.Sprint("register ", i), err, ErrInviteInvalid)
		}
		ds, err := s.ListDevelopers(ctx)
		wantErr(t, "list", err, nil)
		if ok != 1 || len(ds) != 2 {
			t.Fatalf("%d registrations succeeded and %d developers exist, want 1 and 2", ok, len(ds))
		}
	})
}
