package credentials

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/testenv"
	"github.com/backpackhq/backpack/tools/ephemeral"
)

func TestHashVerify(t *testing.T) {
	h := NewHasher()
	ctx := context.Background()
	encoded, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(encoded, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not PHC argon2id with the default parameters", encoded)
	}
	for pw, want := range map[string]bool{"correct horse battery staple": true, "correct horse battery stapl": false, "": false} {
		if ok, err := h.Verify(ctx, encoded, pw); err != nil || ok != want {
			t.Errorf("Verify(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	if ok, err := h.Verify(ctx, "", "anything"); err != nil || ok {
		t.Errorf("Verify against no hash = %v, %v; want false, nil", ok, err)
	}
	if _, err := h.Verify(ctx, "$bcrypt$nope", "x"); err == nil {
		t.Error("an unknown hash format verified without error")
	}
	again, _ := h.Hash(ctx, "correct horse battery staple")
	if again == encoded {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
}

// TestNewAccount: a sign-up's email comes back normalized with a hash that verifies; a bad
// email or a short password is refused before any hashing.
func TestNewAccount(t *testing.T) {
	h := NewHasher()
	ctx := context.Background()
	email, hash, err := h.NewAccount(ctx, " Ann@Example.COM ", "a long password")
	if err != nil || email != "ann@example.com" {
		t.Fatalf("NewAccount = %q, %v", email, err)
	}
	if ok, err := h.Verify(ctx, hash, "a long password"); !ok || err != nil {
		t.Fatalf("the hash does not verify: %v %v", ok, err)
	}
	for _, c := range [][2]string{{"not an email", "a long password"}, {"ann@example.com", "short"}} {
		if _, hash, err := h.NewAccount(ctx, c[0], c[1]); err == nil || hash != "" {
			t.Errorf("NewAccount(%q, %q) = %q, %v", c[0], c[1], hash, err)
		}
	}
}

func TestRules(t *testing.T) {
	for raw, want := range map[string]string{" Ann@Example.COM ": "ann@example.com", "a.b+c@x.io": "a.b+c@x.io"} {
		if got, err := NormalizeEmail(raw); err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	for _, bad := range []string{"", "ann", "Ann <ann@x.io>", "ann@localhost", "a@b.c" + strings.Repeat("c", 260)} {
		var re *RuleError
		if _, err := NormalizeEmail(bad); !errors.As(err, &re) || re.Field != "email" {
			t.Errorf("NormalizeEmail(%q) = %v; want a RuleError on email", bad, err)
		}
	}
	for pw, ok := range map[string]bool{"1234567": false, "12345678": true, "пароль12": true, strings.Repeat("x", 513): false} {
		if err := CheckPassword(pw); (err == nil) != ok {
			t.Errorf("CheckPassword(%d bytes) = %v; want ok=%v", len(pw), err, ok)
		}
	}
}

// throttleStores runs a throttle test on the in-process store and on a real Redis.
func throttleStores(t *testing.T, test func(t *testing.T, store ephemeral.Store)) {
	t.Run("memory", func(t *testing.T) { test(t, ephemeral.NewMemory()) })
	t.Run("redis", func(t *testing.T) {
		r, err := ephemeral.NewRedis(context.Background(), testenv.Redis(t), "t:")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close() })
		test(t, r)
	})
}

func testThrottle(store ephemeral.Store) Throttle {
	return Throttle{Store: store, MaxPerAccountAddress: 2, MaxPerAccount: 3, MaxPerAddress: 4, Window: time.Minute,
		MaxRegistrationsPerAddress: 2, RegistrationWindow: time.Hour}
}

func expectLimited(t *testing.T, err error, code string) {
	t.Helper()
	var le *LimitedError
	if !errors.As(err, &le) || le.Code != code || le.Message == "" || le.RetryAfter <= 0 {
		t.Fatalf("got %v; want a LimitedError %s with a retry time", err, code)
	}
}

// TestThrottleLimits: the lockout is per account and address, bounded higher per account and
// per address; a right password frees its own pair only.
func TestThrottleLimits(t *testing.T) {
	throttleStores(t, func(t *testing.T, store ephemeral.Store) {
		ctx := context.Background()
		th := testThrottle(store)
		fail := func(email, ip string) {
			t.Helper()
			if _, err := th.Begin(ctx, email, ip); err != nil {
				t.Fatalf("attempt on %s from %s: %v", email, ip, err)
			}
		}
		fail("a@x.io", "1.1.1.1")
		fail("a@x.io", "1.1.1.1")
		_, err := th.Begin(ctx, "a@x.io", "1.1.1.1")
		expectLimited(t, err, "too_many_attempts")
		// The owner, elsewhere, is not locked out by those failures, and signs in.
		owner, err := th.Begin(ctx, "a@x.io", "2.2.2.2")
		if err != nil {
			t.Fatalf("the owner's address is locked by a stranger's failures: %v", err)
		}
		if err := owner.Succeeded(ctx); err != nil {
			t.Fatal(err)
		}
		// A third address's failure reaches the account-wide bound (3): every address is refused.
		fail("a@x.io", "3.3.3.3")
		_, err = th.Begin(ctx, "a@x.io", "4.4.4.4")
		expectLimited(t, err, "too_many_attempts")
		// The address bound counts every account: 1.1.1.1 has 2 failures, two more fill it.
		fail("b@x.io", "1.1.1.1")
		fail("c@x.io", "1.1.1.1")
		_, err = th.Begin(ctx, "d@x.io", "1.1.1.1")
		expectLimited(t, err, "too_many_attempts")
		// A refused attempt took nothing: e@x.io from elsewhere has its full budget.
		fail("e@x.io", "5.5.5.5")
		fail("e@x.io", "5.5.5.5")
	})
}

// TestThrottleSuccessAndCancel: a right password forgets the pair's failures and gives back its
// places; a cancelled attempt counts for nothing.
func TestThrottleSuccessAndCancel(t *testing.T) {
	throttleStores(t, func(t *testing.T, store ephemeral.Store) {
		ctx := context.Background()
		th := testThrottle(store)
		th.MaxPerAccount, th.MaxPerAddress = 100, 100
		for range 5 {
			if _, err := th.Begin(ctx, "a@x.io", "1.1.1.1"); err != nil {
				t.Fatal(err)
			}
			a, err := th.Begin(ctx, "a@x.io", "1.1.1.1")
			if err != nil {
				t.Fatalf("the pair's failure was not forgotten after a success: %v", err)
			}
			if err := a.Succeeded(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for range 10 {
			a, err := th.Begin(ctx, "b@x.io", "2.2.2.2")
			if err != nil {
				t.Fatalf("cancelled attempts were counted: %v", err)
			}
			if err := a.Cancel(ctx); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestThrottleConcurrent: attempts begun at once never together pass the limit.
func TestThrottleConcurrent(t *testing.T) {
	throttleStores(t, func(t *testing.T, store ephemeral.Store) {
		ctx := context.Background()
		th := Throttle{Store: store, MaxPerAccountAddress: 5, MaxPerAccount: 100, MaxPerAddress: 100, Window: time.Minute}
		var began, limited atomic.Int64
		var wg sync.WaitGroup
		for range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := th.Begin(ctx, "a@x.io", "1.1.1.1")
				var le *LimitedError
				switch {
				case err == nil:
					began.Add(1)
				case errors.As(err, &le):
					limited.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if began.Load() != 5 || limited.Load() != 35 {
			t.Fatalf("%d attempts began, %d limited; want 5 and 35", began.Load(), limited.Load())
		}
	})
}

func TestThrottleRegister(t *testing.T) {
	throttleStores(t, func(t *testing.T, store ephemeral.Store) {
		ctx := context.Background()
		th := testThrottle(store)
		for range 2 {
			if err := th.Register(ctx, "1.1.1.1"); err != nil {
				t.Fatal(err)
			}
		}
		expectLimited(t, th.Register(ctx, "1.1.1.1"), "too_many_registrations")
		if err := th.Register(ctx, "2.2.2.2"); err != nil {
			t.Fatalf("another address is limited: %v", err)
		}
		// An IPv6 client is counted by its /64: another address in it shares the budget.
		for range 2 {
			if err := th.Register(ctx, "2001:db8:1:2::1"); err != nil {
				t.Fatal(err)
			}
		}
		expectLimited(t, th.Register(ctx, "2001:db8:1:2:ffff::9"), "too_many_registrations")
		if err := th.Register(ctx, "2001:db8:1:3::1"); err != nil {
			t.Fatalf("another /64 is limited: %v", err)
		}
		// Sign-ups and sign-ins are counted apart.
		if _, err := th.Begin(ctx, "a@x.io", "1.1.1.1"); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkPasswordHash(b *testing.B) {
	h := NewHasher()
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPasswordVerify(b *testing.B) {
	h := NewHasher()
	ctx := context.Background()
	encoded, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, err := h.Verify(ctx, encoded, "correct horse battery staple"); err != nil || !ok {
			b.Fatalf("verify: %v, %v", ok, err)
		}
	}
}
