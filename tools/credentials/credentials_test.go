package credentials

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

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

func TestThrottle(t *testing.T) {
	ctx := context.Background()
	th := Throttle{Store: ephemeral.NewMemory(), MaxPerAccount: 2, MaxPerAddress: 3, Window: time.Minute}
	for range 2 {
		if err := th.Check(ctx, "a@x.io", "1.2.3.4"); err != nil {
			t.Fatal(err)
		}
		_ = th.Failed(ctx, "a@x.io", "1.2.3.4")
	}
	var le *LimitedError
	if err := th.Check(ctx, "a@x.io", "5.6.7.8"); !errors.As(err, &le) || le.RetryAfter <= 0 {
		t.Fatalf("third attempt on the account = %v; want LimitedError", err)
	}
	if err := th.Check(ctx, "b@x.io", "1.2.3.4"); err != nil {
		t.Fatalf("another account from the address below its limit: %v", err)
	}
	_ = th.Failed(ctx, "b@x.io", "1.2.3.4")
	if err := th.Check(ctx, "c@x.io", "1.2.3.4"); !errors.As(err, &le) {
		t.Fatalf("address at its limit = %v; want LimitedError", err)
	}
	_ = th.Succeeded(ctx, "a@x.io")
	if err := th.Check(ctx, "a@x.io", "9.9.9.9"); err != nil {
		t.Fatalf("after success the account's failures should be forgotten: %v", err)
	}
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
