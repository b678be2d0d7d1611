package ephemeral

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/testenv"
)

// conformance runs the same checks against every Store implementation.
func conformance(t *testing.T, s Store) {
	ctx := context.Background()
	t.Run("sessions", func(t *testing.T) {
		if _, err := s.Session(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing session: %v", err)
		}
		for _, k := range []string{"k1", "k2"} {
			if err := s.PutSession(ctx, k, "u1", time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.PutSession(ctx, "k3", "u2", time.Minute); err != nil {
			t.Fatal(err)
		}
		if u, err := s.Session(ctx, "k1"); err != nil || u != "u1" {
			t.Fatalf("Session(k1) = %q, %v", u, err)
		}
		if err := s.DeleteSession(ctx, "k1"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSession(ctx, "k1"); err != nil {
			t.Fatalf("second delete: %v", err)
		}
		if _, err := s.Session(ctx, "k1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted session still there: %v", err)
		}
		if err := s.DeleteUserSessions(ctx, "u1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, "k2"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("user's session survived DeleteUserSessions: %v", err)
		}
		if u, err := s.Session(ctx, "k3"); err != nil || u != "u2" {
			t.Fatalf("other user's session lost: %q, %v", u, err)
		}
	})
	t.Run("expiry", func(t *testing.T) {
		if err := s.PutSession(ctx, "short", "u3", 50*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		time.Sleep(120 * time.Millisecond)
		if _, err := s.Session(ctx, "short"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("expired session still there: %v", err)
		}
	})
	t.Run("counters", func(t *testing.T) {
		if n, _, err := s.Count(ctx, "c"); err != nil || n != 0 {
			t.Fatalf("fresh counter = %d, %v", n, err)
		}
		for i := int64(1); i <= 3; i++ {
			n, left, err := s.Hit(ctx, "c", time.Minute)
			if err != nil || n != i || left <= 0 || left > time.Minute {
				t.Fatalf("hit %d = %d, %v, %v", i, n, left, err)
			}
		}
		if n, left, err := s.Count(ctx, "c"); err != nil || n != 3 || left <= 0 {
			t.Fatalf("Count = %d, %v, %v", n, left, err)
		}
		if err := s.Reset(ctx, "c"); err != nil {
			t.Fatal(err)
		}
		if n, _, _ := s.Count(ctx, "c"); n != 0 {
			t.Fatalf("after reset = %d", n)
		}
		if _, _, err := s.Hit(ctx, "w", 50*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		time.Sleep(120 * time.Millisecond)
		if n, _, _ := s.Hit(ctx, "w", time.Minute); n != 1 {
			t.Fatalf("window did not reset: %d", n)
		}
	})
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestMemory(t *testing.T) { conformance(t, NewMemory()) }

func TestRedis(t *testing.T) {
	url := testenv.Redis(t)
	r, err := NewRedis(context.Background(), url, "test:")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	conformance(t, r)
}
