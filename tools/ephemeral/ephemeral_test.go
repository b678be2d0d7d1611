package ephemeral

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/testenv"
	"github.com/redis/go-redis/v9"
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
	t.Run("reserve", func(t *testing.T) {
		// 40 callers at once against a limit of 5: exactly 5 get a place, whatever the order.
		var granted atomic.Int64
		var wg sync.WaitGroup
		for range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, left, err := s.Reserve(ctx, "r", 5, time.Minute)
				if err != nil || left <= 0 || left > time.Minute {
					t.Errorf("Reserve = %v, %v, %v", ok, left, err)
				}
				if ok {
					granted.Add(1)
				}
			}()
		}
		wg.Wait()
		if granted.Load() != 5 {
			t.Fatalf("%d places granted under a limit of 5", granted.Load())
		}
		if n, _, _ := s.Count(ctx, "r"); n != 5 {
			t.Fatalf("refused reservations changed the count: %d", n)
		}
		// A released place can be taken again; releasing below zero does nothing.
		if err := s.Release(ctx, "r"); err != nil {
			t.Fatal(err)
		}
		if ok, _, err := s.Reserve(ctx, "r", 5, time.Minute); !ok || err != nil {
			t.Fatalf("Reserve after Release = %v, %v", ok, err)
		}
		for range 7 {
			if err := s.Release(ctx, "r"); err != nil {
				t.Fatal(err)
			}
		}
		if n, _, _ := s.Count(ctx, "r"); n != 0 {
			t.Fatalf("after releasing everything = %d", n)
		}
		if err := s.Release(ctx, "never-reserved"); err != nil {
			t.Fatalf("release of an absent counter: %v", err)
		}
		if n, _, _ := s.Count(ctx, "never-reserved"); n != 0 {
			t.Fatalf("release created a counter: %d", n)
		}
		// Reserve and Hit share counters, and the window resets as Hit's does.
		if ok, _, _ := s.Reserve(ctx, "rw", 1, 50*time.Millisecond); !ok {
			t.Fatal("first reservation refused")
		}
		if ok, left, _ := s.Reserve(ctx, "rw", 1, 50*time.Millisecond); ok || left <= 0 {
			t.Fatalf("reservation over the limit = %v, %v", ok, left)
		}
		time.Sleep(120 * time.Millisecond)
		if ok, _, _ := s.Reserve(ctx, "rw", 1, time.Minute); !ok {
			t.Fatal("window did not reset")
		}
		if n, _, _ := s.Hit(ctx, "rw", time.Minute); n != 2 {
			t.Fatalf("Hit after Reserve = %d", n)
		}
	})
	t.Run("publish order", func(t *testing.T) {
		if err := s.Publish(ctx, "nobody", []byte("x")); err != nil {
			t.Fatalf("publish with no subscribers: %v", err)
		}
		sub := subscribe(t, s, ctx, "order")
		for i := range 100 {
			if err := s.Publish(ctx, "order", []byte(strconv.Itoa(i))); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 100 {
			if got := recv(t, sub); got != strconv.Itoa(i) {
				t.Fatalf("payload %d = %q", i, got)
			}
		}
	})
	t.Run("fan-out", func(t *testing.T) {
		a, b := subscribe(t, s, ctx, "news"), subscribe(t, s, ctx, "news")
		other := subscribe(t, s, ctx, "sport")
		if err := s.Publish(ctx, "news", []byte("hello")); err != nil {
			t.Fatal(err)
		}
		// Published after "hello", so the other channel's subscriber would see "hello" first
		// if it leaked across.
		if err := s.Publish(ctx, "sport", []byte("goal")); err != nil {
			t.Fatal(err)
		}
		for _, sub := range []*Subscription{a, b} {
			if got := recv(t, sub); got != "hello" {
				t.Fatalf("subscriber got %q", got)
			}
		}
		if got := recv(t, other); got != "goal" {
			t.Fatalf("subscriber of another channel got %q", got)
		}
	})
	t.Run("subscription close", func(t *testing.T) {
		before := runtime.NumGoroutine()
		sub := subscribe(t, s, ctx, "closing")
		if err := s.Publish(ctx, "closing", []byte("one")); err != nil {
			t.Fatal(err)
		}
		if got := recv(t, sub); got != "one" {
			t.Fatalf("got %q", got)
		}
		if err := sub.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case p, ok := <-sub.C:
			if ok {
				t.Fatalf("delivered after Close: %q", p)
			}
		default:
			t.Fatal("C still open after Close returned")
		}
		if err := s.Publish(ctx, "closing", []byte("two")); err != nil {
			t.Fatalf("publish after the only subscriber closed: %v", err)
		}
		if err := sub.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		for range 20 {
			if err := subscribe(t, s, ctx, "churn").Close(); err != nil {
				t.Fatal(err)
			}
		}
		eventually(t, "goroutines of closed subscriptions to exit", func() bool {
			return runtime.NumGoroutine() <= before
		})
	})
	t.Run("context cancel", func(t *testing.T) {
		subCtx, cancel := context.WithCancel(ctx)
		sub := subscribe(t, s, subCtx, "cancelled")
		cancel()
		waitClosed(t, sub)
		if err := sub.Close(); err != nil {
			t.Fatalf("Close after the context ended: %v", err)
		}
		// A context that has already ended may fail Subscribe or end the subscription at once.
		if sub, err := s.Subscribe(subCtx, "cancelled"); err == nil {
			waitClosed(t, sub)
		}
	})
	t.Run("slow subscriber", func(t *testing.T) {
		const n = 5000
		sub := subscribe(t, s, ctx, "flood")
		published := make(chan error, 1)
		go func() {
			for i := range n {
				if err := s.Publish(ctx, "flood", []byte(strconv.Itoa(i))); err != nil {
					published <- err
					return
				}
			}
			published <- nil
		}()
		select {
		case err := <-published:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Publish blocked on a subscriber that does not read")
		}
		eventually(t, "every payload to be buffered or dropped", func() bool {
			return len(sub.C)+int(sub.Dropped()) == n
		})
		if len(sub.C) != cap(sub.C) || sub.Dropped() != n-uint64(cap(sub.C)) {
			t.Fatalf("buffered %d of %d, dropped %d", len(sub.C), cap(sub.C), sub.Dropped())
		}
		if got := recv(t, sub); got != "0" {
			t.Fatalf("oldest buffered payload = %q, want the first published", got)
		}
	})
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	// Last, as it ends the store.
	t.Run("store close", func(t *testing.T) {
		sub := subscribe(t, s, ctx, "shutdown")
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		waitClosed(t, sub)
		if err := sub.Close(); err != nil {
			t.Fatalf("closing a subscription the store's Close ended: %v", err)
		}
	})
}

// subscribe subscribes to channel and closes the subscription when the test ends.
func subscribe(t *testing.T, s Store, ctx context.Context, channel string) *Subscription {
	t.Helper()
	sub, err := s.Subscribe(ctx, channel)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	return sub
}

// recv returns the next payload, failing the test if none comes or the subscription ended.
func recv(t *testing.T, sub *Subscription) string {
	t.Helper()
	select {
	case p, ok := <-sub.C:
		if !ok {
			t.Fatal("subscription ended")
		}
		return string(p)
	case <-time.After(5 * time.Second):
		t.Fatal("no payload within 5s")
		return ""
	}
}

// waitClosed reads sub.C until it is closed, failing the test if that takes too long.
func waitClosed(t *testing.T, sub *Subscription) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-sub.C:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("C not closed within 5s")
		}
	}
}

// eventually polls cond until it holds, failing the test after a few seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestMemory(t *testing.T) { conformance(t, NewMemory()) }

func TestRedis(t *testing.T) {
	url := testenv.Redis(t)
	r, err := NewRedis(context.Background(), url, "test:")
	if err != nil {
		t.Fatal(err)
	}
	conformance(t, r)
}

// TestRedisReplicas checks events cross replicas — separate stores on one server — and stay
// within their prefix.
func TestRedisReplicas(t *testing.T) {
	url := testenv.Redis(t)
	ctx := context.Background()
	a, b := newRedis(t, url, "app:"), newRedis(t, url, "app:")
	other := newRedis(t, url, "other-app:")
	onB, onOther := subscribe(t, b, ctx, "settings"), subscribe(t, other, ctx, "settings")
	if err := a.Publish(ctx, "settings", []byte("changed")); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, onB); got != "changed" {
		t.Fatalf("other replica got %q", got)
	}
	if err := other.Publish(ctx, "settings", []byte("mine")); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, onOther); got != "mine" {
		t.Fatalf("store with another prefix got %q", got)
	}
}

// TestRedisReconnect checks that a subscription survives its connection being killed, as the
// documented at-most-once behaviour relies on go-redis resubscribing.
func TestRedisReconnect(t *testing.T) {
	ctx := context.Background()
	r := newRedis(t, testenv.Redis(t), "test:")
	sub := subscribe(t, r, ctx, "events")
	if err := r.client.ClientKillByFilter(ctx, "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	// Payloads published before the resubscription are lost, so keep publishing until one
	// arrives.
	received := make(chan struct{})
	defer close(received)
	go func() {
		for {
			select {
			case <-received:
				return
			case <-time.After(50 * time.Millisecond):
				_ = r.Publish(ctx, "events", []byte("again"))
			}
		}
	}()
	select {
	case p, ok := <-sub.C:
		if !ok || string(p) != "again" {
			t.Fatalf("after reconnect got %q, open %v", p, ok)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("subscription did not recover from a killed connection")
	}
}

func newRedis(t *testing.T, url, prefix string) *Redis {
	t.Helper()
	r, err := NewRedis(context.Background(), url, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// TestRedisSubscribeUnreachable checks that Subscribe reports a server it cannot reach instead
// of returning a subscription that never delivers.
func TestRedisSubscribeUnreachable(t *testing.T) {
	r := &Redis{client: redis.NewClient(&redis.Options{Addr: testenv.FreeAddr(t)}), prefix: "test:"}
	defer r.Close()
	if _, err := r.Subscribe(context.Background(), "events"); err == nil {
		t.Fatal("Subscribe to an unreachable server succeeded")
	}
}

// TestRedisDeleteAll checks a purge removes every key under the store's prefix, however many,
// and nothing under another prefix, even one that shares its start or has glob characters.
func TestRedisDeleteAll(t *testing.T) {
	url := testenv.Redis(t)
	ctx := context.Background()
	gone, kept, glob := newRedis(t, url, "bkpk:shop:"), newRedis(t, url, "bkpk:shop-x:"), newRedis(t, url, "bkpk:sh*")
	for i := range 2500 {
		if err := gone.PutSession(ctx, fmt.Sprintf("s%d", i), fmt.Sprintf("u%d", i%7), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := gone.Hit(ctx, "login", time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Redis{kept, glob} {
		if err := s.PutSession(ctx, "k", "u", time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := glob.DeleteAll(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := gone.client.DBSize(ctx).Result(); n != 2500+7+1+2 {
		t.Fatalf("a glob prefix deleted other keys: %d left", n)
	}
	if err := gone.DeleteAll(ctx); err != nil {
		t.Fatal(err)
	}
	left, err := gone.client.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 2 || !strings.HasPrefix(left[0], "bkpk:shop-x:") || !strings.HasPrefix(left[1], "bkpk:shop-x:") {
		t.Fatalf("left after DeleteAll: %v", left)
	}
	if _, err := kept.Session(ctx, "k"); err != nil {
		t.Fatalf("a session under another prefix went: %v", err)
	}
	if err := (&Redis{client: gone.client}).DeleteAll(ctx); err == nil {
		t.Fatal("DeleteAll without a prefix did not refuse")
	}
}
