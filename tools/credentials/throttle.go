package credentials

import (
	"context"
	"fmt"
	"time"

	"github.com/backpackhq/backpack/tools/ephemeral"
)

// Throttle limits password guessing. Failures are counted per account and per client address
// in an ephemeral store (Redis when shared by replicas), so while either count is at its limit
// every attempt is refused before any password is checked.
type Throttle struct {
	Store         ephemeral.Store
	Prefix        string // keeps two throttles on one store apart
	MaxPerAccount int64
	MaxPerAddress int64
	Window        time.Duration
}

// LimitedError is returned while an account or address is locked out; RetryAfter is when the
// window ends.
type LimitedError struct {
	RetryAfter time.Duration
}

func (e *LimitedError) Error() string {
	return fmt.Sprintf("too many failed sign-in attempts; try again in %s", e.RetryAfter.Round(time.Second))
}

func (t Throttle) accountKey(email string) string { return t.Prefix + "login-fail:account:" + email }
func (t Throttle) addressKey(ip string) string    { return t.Prefix + "login-fail:address:" + ip }

// Check returns a *LimitedError when the account or the address has failed too often.
func (t Throttle) Check(ctx context.Context, email, ip string) error {
	limits := []struct {
		key   string
		limit int64
	}{
		{t.accountKey(email), t.MaxPerAccount},
		{t.addressKey(ip), t.MaxPerAddress},
	}
	for _, l := range limits {
		n, resetIn, err := t.Store.Count(ctx, l.key)
		if err != nil {
			return fmt.Errorf("login throttle: %w", err)
		}
		if n >= l.limit {
			return &LimitedError{RetryAfter: max(resetIn, time.Second)}
		}
	}
	return nil
}

// Failed records a failed attempt against both the account and the address.
func (t Throttle) Failed(ctx context.Context, email, ip string) error {
	for _, k := range []string{t.accountKey(email), t.addressKey(ip)} {
		if _, _, err := t.Store.Hit(ctx, k, t.Window); err != nil {
			return fmt.Errorf("login throttle: %w", err)
		}
	}
	return nil
}

// Succeeded forgets the account's failures; the address's stay, so one valid account cannot be
// used to reset an attacker's budget for guessing others.
func (t Throttle) Succeeded(ctx context.Context, email string) error {
	return t.Store.Reset(ctx, t.accountKey(email))
}
