package store

import (
	"context"
	"testing"
	"time"
)

// TestLeaderLock: one lease at a time; released, the lock can be taken again.
func TestLeaderLock(t *testing.T) {
	each(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		lease, ok, err := s.TryLead(ctx)
		if err != nil || !ok {
			t.Fatalf("first TryLead = %v, %v", ok, err)
		}
		if _, ok, err := s.TryLead(ctx); err != nil || ok {
			t.Fatalf("second TryLead while held = %v, %v, want false", ok, err)
		}
		lease.Release()
		lease.Release() // twice is harmless
		select {
		case <-lease.Lost():
		default:
			t.Fatal("a released lease is not lost")
		}
		again, ok, err := s.TryLead(ctx)
		if err != nil || !ok {
			t.Fatalf("TryLead after release = %v, %v", ok, err)
		}
		again.Release()
	})
}

// TestLeaderLockAcrossProcesses: on PostgreSQL two stores (two processes) share one lock; when
// the leader's connection dies (its process crashed), its lease says so and the other takes
// the lock.
func TestLeaderLockAcrossProcesses(t *testing.T) {
	open := databases[1].fresh(t)
	a, b := mustOpen(t, open), mustOpen(t, open)
	ctx := context.Background()
	lease, ok, err := a.TryLead(ctx)
	if err != nil || !ok {
		t.Fatalf("a TryLead = %v, %v", ok, err)
	}
	if _, ok, err := b.TryLead(ctx); err != nil || ok {
		t.Fatalf("b TryLead while a leads = %v, %v, want false", ok, err)
	}
	// The leader's connection dies, as when its process or node goes away.
	if _, err := b.db.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lease.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("the lease did not notice its connection died")
	}
	lease.Release()
	deadline := time.Now().Add(10 * time.Second)
	for {
		taken, ok, err := b.TryLead(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			taken.Release()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("b never took the lock")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if l, ok, err := a.TryLead(ctx); err != nil || !ok {
		t.Fatalf("a TryLead after b released = %v, %v", ok, err)
	} else {
		l.Release()
	}
}

// TestNotices: a listener hears "" when it starts, then every topic notified, from this store
// or (PostgreSQL) from another process on the same database.
func TestNotices(t *testing.T) {
	eachDB(t, func(t *testing.T, open func(context.Context) (*SQL, error)) {
		listener := mustOpen(t, open)
		sender := listener
		if listener.d.name == postgresDialect.name {
			sender = mustOpen(t, open)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		got := make(chan string, 10)
		done := make(chan struct{})
		go func() {
			defer close(done)
			listener.Listen(ctx, func(topic string) { got <- topic })
		}()
		next := func() string {
			t.Helper()
			select {
			case topic := <-got:
				return topic
			case <-time.After(10 * time.Second):
				t.Fatal("no notice")
				return ""
			}
		}
		if topic := next(); topic != "" {
			t.Fatalf("first notice = %q, want the empty one", topic)
		}
		for _, want := range []string{"one", "two"} {
			if err := sender.Notify(ctx, want); err != nil {
				t.Fatal(err)
			}
			if topic := next(); topic != want {
				t.Fatalf("notice = %q, want %q", topic, want)
			}
		}
		if listener.d.name == postgresDialect.name {
			// The listening connection dies: the listener connects again and says that
			// notices may have been missed, then hears new ones.
			if _, err := sender.db.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
				WHERE datname = current_database() AND query LIKE 'LISTEN %'`); err != nil {
				t.Fatal(err)
			}
			if topic := next(); topic != "" {
				t.Fatalf("notice after the connection died = %q, want the empty one", topic)
			}
			if err := sender.Notify(ctx, "three"); err != nil {
				t.Fatal(err)
			}
			if topic := next(); topic != "three" {
				t.Fatalf("notice = %q, want three", topic)
			}
		}
		cancel()
		<-done
	})
}
