package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func newBackend(name, owner string) Backend {
	return Backend{
		Name: name, OwnerID: owner, Desired: DesiredRunning, State: StateCreating,
		Node: "node-1", SealedAPIKey: []byte("sealed-key\x00\xff"), SealedAdminTok: []byte("sealed-admin"),
		Volumes:     name + "_0001",
		Operation:   42, // ignored
		APIReplicas: 1,
		CreatedAt:   t0, UpdatedAt: t0,
	}
}

func TestCreateBackend(t *testing.T) {
	each(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		in := newBackend("shop", "alice")
		got, err := s.CreateBackend(ctx, in)
		wantErr(t, "create", err, nil)
		want := in
		want.Operation = 1
		wantEqual(t, "created", got, want)
		read, err := s.Backend(ctx, "shop")
		wantErr(t, "read", err, nil)
		wantEqual(t, "read back", read, want)

		_, err = s.CreateBackend(ctx, newBackend("shop", "alice"))
		wantErr(t, "same name, running", err, ErrConflict)
		_, err = s.CreateBackend(ctx, newBackend("shop", "bob"))
		wantErr(t, "same name, other owner", err, ErrConflict)

		// Without secrets yet: they read back nil.
		bare, err := s.CreateBackend(ctx, Backend{Name: "bare", OwnerID: "bob", CreatedAt: t0})
		wantErr(t, "create bare", err, nil)
		wantEqual(t, "bare", bare, Backend{Name: "bare", OwnerID: "bob", Desired: DesiredRunning,
			State: StateCreating, Operation: 1, APIReplicas: 1, CreatedAt: t0, UpdatedAt: t0})

		_, err = s.Backend(ctx, "nope")
		wantErr(t, "unknown", err, ErrNotFound)
	})
}

func TestListBackends(t *testing.T) {
	each(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		bs, err := s.ListBackends(ctx, "")
		wantErr(t, "list empty", err, nil)
		if len(bs) != 0 {
			t.Fatalf("backends on a fresh store: %+v", bs)
		}
		for _, b := range []Backend{newBackend("c", "alice"), newBackend("a", "bob"), newBackend("b", "alice")} {
			if _, err := s.CreateBackend(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		names := func(owner string) []string {
			bs, err := s.ListBackends(ctx, owner)
			wantErr(t, "list "+owner, err, nil)
			var ns []string
			for _, b := range bs {
				ns = append(ns, b.Name)
			}
			return ns
		}
		wantEqual(t, "everyone's", names(""), []string{"a", "b", "c"})
		wantEqual(t, "alice's", names("alice"), []string{"b", "c"})
		wantEqual(t, "bob's", names("bob"), []string{"a"})
		wantEqual(t, "nobody's", names("carol"), []string(nil))
	})
}

// TestBackendLifecycle walks a backend through create, status reports, delete keeping data,
// revive and purge, with the operation guarding each step.
func TestBackendLifecycle(t *testing.T) {
	each(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		if _, err := s.CreateBackend(ctx, newBackend("shop", "alice")); err != nil {
			t.Fatal(err)
		}
		next := at(time.Minute)
		wantErr(t, "failed attempt", s.UpdateStatus(ctx, "shop", 1, StatusUpdate{State: StateCreating,
			LastError: "boom", Attempts: 1, NextAttemptAt: next, Now: at(time.Second)}), nil)
		b, err := s.Backend(ctx, "shop")
		wantErr(t, "read", err, nil)
		if b.State != StateCreating || b.LastError != "boom" || b.Attempts != 1 || !b.NextAttemptAt.Equal(next) ||
			b.Node != "node-1" || !b.UpdatedAt.Equal(at(time.Second)) {
			t.Fatalf("after failed attempt: %+v", b)
		}
		wantErr(t, "running on node-2", s.UpdateStatus(ctx, "shop", 1, StatusUpdate{State: StateRunning,
			Node: "node-2", Now: at(2 * time.Second)}), nil)
		b, _ = s.Backend(ctx, "shop")
		if b.State != StateRunning || b.LastError != "" || b.Attempts != 0 || !b.NextAttemptAt.IsZero() || b.Node != "node-2" {
			t.Fatalf("after running: %+v", b)
		}
		wantErr(t, "wrong operation", s.UpdateStatus(ctx, "shop", 2, StatusUpdate{State: StateFailed, Now: at(3 * time.Second)}), ErrStale)
		wantErr(t, "unknown backend", s.UpdateStatus(ctx, "nope", 1, StatusUpdate{State: StateFailed, Now: t0}), ErrNotFound)

		wantErr(t, "begin rotation", s.BeginKeyRotation(ctx, "shop", []byte("new-key"), false, at(4*time.Second)), nil)
		wantErr(t, "finish rotation", s.FinishKeyRotation(ctx, "shop", []byte("new-key"), []byte("new-key"), at(4*time.Second)), nil)

		// Delete keeping data.
		_, err = s.RequestDelete(ctx, "nope", false, t0)
		wantErr(t, "delete unknown", err, ErrNotFound)
		wantErr(t, "a failure first", s.UpdateStatus(ctx, "shop", 1, StatusUpdate{State: StateDegraded, LastError: "slow",
			Attempts: 3, NextAttemptAt: next, Now: at(4 * time.Second)}), nil)
		del, err := s.RequestDelete(ctx, "shop", false, at(5*time.Second))
		wantErr(t, "request delete", err, nil)
		wantEqual(t, "delete requested", del, Backend{Name: "shop", OwnerID: "alice", Desired: DesiredDeleted,
			State: StateDeleting, Node: "node-2", SealedAPIKey: []byte("new-key"), SealedAdminTok: []byte("sealed-admin"),
			Operation: 2, APIReplicas: 1, Volumes: "shop_0001", CreatedAt: t0, UpdatedAt: at(5 * time.Second)})
		wantErr(t, "stale report of the create", s.UpdateStatus(ctx, "shop", 1, StatusUpdate{State: StateRunning, Now: at(6 * time.Second)}), ErrStale)
		_, err = s.CreateBackend(ctx, newBackend("shop", "alice"))
		wantErr(t, "create while deleting", err, ErrConflict)
		wantErr(t, "deleted", s.UpdateStatus(ctx, "shop", 2, StatusUpdate{State: StateDeleted, LastError: "x",
			Attempts: 2, NextAttemptAt: next, Now: at(7 * time.Second)}), nil)

		// Another owner may not take the name; the owner revives it.
		_, err = s.CreateBackend(ctx, newBackend("shop", "bob"))
		wantErr(t, "other owner", err, ErrConflict)
		in := newBackend("shop", "alice")
		in.Node, in.SealedAPIKey, in.SealedAdminTok, in.Volumes = "node-9", []byte("other"), []byte("other"), "shop_0002"
		in.CreatedAt, in.UpdatedAt = at(8*time.Second), at(8*time.Second)
		rev, err := s.CreateBackend(ctx, in)
		wantErr(t, "revive", err, nil)
		wantRev := Backend{Name: "shop", OwnerID: "alice", Desired: DesiredRunning, State: StateCreating,
			Node: "node-2", SealedAPIKey: []byte("new-key"), SealedAdminTok: []byte("sealed-admin"),
			Operation: 3, APIReplicas: 1, Volumes: "shop_0001", CreatedAt: t0, UpdatedAt: at(8 * time.Second)}
		wantEqual(t, "revived", rev, wantRev)
		b, _ = s.Backend(ctx, "shop")
		wantEqual(t, "revived, read back", b, wantRev)
		_, err = s.CreateBackend(ctx, in)
		wantErr(t, "revive twice", err, ErrConflict)

		// Purge, then remove.
		del, err = s.RequestDelete(ctx, "shop", true, at(9*time.Second))
		wantErr(t, "purge", err, nil)
		if !del.Purge || del.Operation != 4 || del.State != StateDeleting || del.Desired != DesiredDeleted {
			t.Fatalf("purge requested: %+v", del)
		}
		b, _ = s.Backend(ctx, "shop")
		if !b.Purge {
			t.Fatal("purge flag not stored")
		}
		for op := int64(1); op <= 4; op++ {
			if _, err := s.AddEvent(ctx, Event{Backend: "shop", Operation: op, At: t0, Kind: "progress", Message: "m"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.AddEvent(ctx, Event{Backend: "other", Operation: 1, At: t0, Kind: "progress"}); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "remove on old operation", s.RemoveBackend(ctx, "shop", 3), ErrStale)
		if _, err := s.Backend(ctx, "shop"); err != nil {
			t.Fatalf("a stale remove removed the backend: %v", err)
		}
		if es, _ := s.Events(ctx, "shop", 4, 0); len(es) != 1 {
			t.Fatalf("a stale remove touched the events: %+v", es)
		}
		wantErr(t, "remove", s.RemoveBackend(ctx, "shop", 4), nil)
		_, err = s.Backend(ctx, "shop")
		wantErr(t, "removed", err, ErrNotFound)
		for op := int64(1); op <= 4; op++ {
			es, err := s.Events(ctx, "shop", op, 0)
			wantErr(t, "events", err, nil)
			if len(es) != 0 {
				t.Fatalf("events of operation %d survived the remove: %+v", op, es)
			}
		}
		if es, _ := s.Events(ctx, "other", 1, 0); len(es) != 1 {
			t.Fatalf("another backend's events were removed: %+v", es)
		}
		wantErr(t, "remove again", s.RemoveBackend(ctx, "shop", 4), ErrNotFound)

		// The name is free again: a new backend starts at operation 1.
		fresh, err := s.CreateBackend(ctx, newBackend("shop", "bob"))
		wantErr(t, "create after remove", err, nil)
		if fresh.Operation != 1 || fresh.OwnerID != "bob" {
			t.Fatalf("after remove: %+v", fresh)
		}
	})
}

// TestCreateBackendRace: concurrent creates of one name: exactly one wins.
func TestCreateBackendRace(t *testing.T) {
	each(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		const n = 12
		errs := race(t, s, n, func(i int) error {
			_, err := s.CreateBackend(ctx, newBackend("shop", fmt.Sprint("owner", i)))
			return err
		})
		ok := 0
		for i, err := range errs {
			if err == nil {
				ok++
				continue
			}
			wantErr(t, fmt.Sprint("create ", i), err, ErrConflict)
		}
		if ok != 1 {
			t.Fatalf("%d creates succeeded, want 1", ok)
		}
	})
}

// TestReviveRace: concurrent revives of one deleted backend: exactly one wins, and the
// operation moves on once.
func TestReviveRace(t *testing.T) {
	each(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		if _, err := s.CreateBackend(ctx, newBackend("shop", "alice")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RequestDelete(ctx, "shop", false, t0); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateStatus(ctx, "shop", 2, StatusUpdate{State: StateDeleted, Now: t0}); err != nil {
			t.Fatal(err)
		}
		const n = 12
		errs := race(t, s, n, func(int) error {
			_, err := s.CreateBackend(ctx, newBackend("shop", "alice"))
			return err
		})
		ok := 0
		for i, err := range errs {
			if err == nil {
				ok++
				continue
			}
			wantErr(t, fmt.Sprint("revive ", i), err, ErrConflict)
		}
		b, err := s.Backend(ctx, "shop")
		wantErr(t, "read", err, nil)
		if ok != 1 || b.Operation != 3 {
			t.Fatalf("%d revives succeeded, operation %d; want 1 and 3", ok, b.Operation)
		}
	})
}

// TestKeyRotation: one rotation at a time; the key it was begun with is what finishes or
// abandons it, so a late answer to an older rotation changes nothing.
func TestKeyRotation(t *testing.T) {
	each(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		if _, err := s.CreateBackend(ctx, newBackend("shop", "alice")); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "begin", s.BeginKeyRotation(ctx, "shop", []byte("k1"), true, at(time.Second)), nil)
		b, _ := s.Backend(ctx, "shop")
		if string(b.PendingAPIKey) != "k1" || !b.PendingKeyRevoke || !b.PendingKeySince.Equal(at(time.Second)) || string(b.SealedAPIKey) != "sealed-key\x00\xff" {
			t.Fatalf("after begin: %+v", b)
		}
		wantErr(t, "begin while another is under way", s.BeginKeyRotation(ctx, "shop", []byte("k2"), false, at(2*time.Second)), ErrConflict)
		wantErr(t, "finish another", s.FinishKeyRotation(ctx, "shop", []byte("k2"), []byte("k2"), at(2*time.Second)), ErrStale)
		wantErr(t, "abandon another", s.AbandonKeyRotation(ctx, "shop", []byte("k2")), ErrStale)
		wantErr(t, "finish", s.FinishKeyRotation(ctx, "shop", []byte("k1"), []byte("k1-sealed"), at(3*time.Second)), nil)
		b, _ = s.Backend(ctx, "shop")
		if string(b.SealedAPIKey) != "k1-sealed" || b.PendingAPIKey != nil || b.PendingKeyRevoke || !b.PendingKeySince.IsZero() || !b.UpdatedAt.Equal(at(3*time.Second)) {
			t.Fatalf("after finish: %+v", b)
		}
		wantErr(t, "finish twice", s.FinishKeyRotation(ctx, "shop", []byte("k1"), []byte("k1-sealed"), at(4*time.Second)), ErrStale)

		wantErr(t, "begin the next", s.BeginKeyRotation(ctx, "shop", []byte("k3"), false, at(5*time.Second)), nil)
		wantErr(t, "abandon", s.AbandonKeyRotation(ctx, "shop", []byte("k3")), nil)
		b, _ = s.Backend(ctx, "shop")
		if string(b.SealedAPIKey) != "k1-sealed" || b.PendingAPIKey != nil || !b.PendingKeySince.IsZero() {
			t.Fatalf("after abandon: %+v", b)
		}
		wantErr(t, "begin after abandon", s.BeginKeyRotation(ctx, "shop", []byte("k4"), false, at(6*time.Second)), nil)

		wantErr(t, "begin unknown", s.BeginKeyRotation(ctx, "nope", []byte("k"), false, t0), ErrNotFound)
		wantErr(t, "finish unknown", s.FinishKeyRotation(ctx, "nope", []byte("k"), []byte("k"), t0), ErrNotFound)
		wantErr(t, "abandon unknown", s.AbandonKeyRotation(ctx, "nope", []byte("k")), ErrNotFound)
	})
}

// TestFirstEvents: the events a create or delete starts its operation with are stored with it,
// ahead of anything recorded after, and not at all when the change is refused.
func TestFirstEvents(t *testing.T) {
	each(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		b, err := s.CreateBackend(ctx, newBackend("shop", "alice"), Event{At: t0, Kind: "state", Message: "create requested"},
			Event{At: t0, Kind: "restore", Message: "a copy"})
		wantErr(t, "create", err, nil)
		if _, err := s.CreateBackend(ctx, newBackend("shop", "bob"), Event{Kind: "state", Message: "refused"}); !errors.Is(err, ErrConflict) {
			t.Fatalf("create of a taken name = %v", err)
		}
		del, err := s.RequestDelete(ctx, "shop", true, at(time.Second), Event{At: at(time.Second), Kind: "state", Message: "delete requested"})
		wantErr(t, "delete", err, nil)
		_, err = s.RequestDelete(ctx, "nope", true, t0, Event{Kind: "state", Message: "refused"})
		wantErr(t, "delete unknown", err, ErrNotFound)
		for _, want := range []struct {
			op       int64
			messages []string
			state    State
		}{{b.Operation, []string{"create requested", "a copy"}, StateCreating}, {del.Operation, []string{"delete requested"}, StateDeleting}} {
			es, err := s.Events(ctx, "shop", want.op, 0)
			wantErr(t, "events", err, nil)
			var got []string
			for _, e := range es {
				got = append(got, e.Message)
				if e.State != want.state {
					t.Fatalf("event %+v of operation %d: state %q, want %q", e, want.op, e.State, want.state)
				}
			}
			wantEqual(t, "first events", got, want.messages)
		}
		es, err := s.Events(ctx, "nope", 1, 0)
		wantErr(t, "events of unknown", err, nil)
		if len(es) != 0 {
			t.Fatalf("a refused change left events: %+v", es)
		}
	})
}
