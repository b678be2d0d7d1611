package coreapi

import (
	"context"
	"net/http"
	"time"
)

// loginThrottle limits password guessing. Failures are counted per account and per client
// address in the shared ephemeral store, so the limit holds across replicas; while either
// count is at its limit every attempt is refused with 429 and Retry-After, before any password
// is checked.
type loginThrottle struct {
	s *Server
}

func accountKey(email string) string { return "login-fail:account:" + email }
func addressKey(ip string) string    { return "login-fail:address:" + ip }

// check refuses the attempt when the account or the address has failed too often.
func (t loginThrottle) check(ctx context.Context, email, ip string) error {
	limits := []struct {
		key   string
		limit int64
	}{
		{accountKey(email), t.s.cfg.LoginMaxFailuresPerAccount},
		{addressKey(ip), t.s.cfg.LoginMaxFailuresPerAddress},
	}
	for _, l := range limits {
		n, resetIn, err := t.s.eph.Count(ctx, l.key)
		if err != nil {
			return err
		}
		if n >= l.limit {
			return &Error{Status: http.StatusTooManyRequests, Code: "too_many_attempts",
				Message: "too many failed sign-in attempts; try again later", RetryAfter: max(resetIn, time.Second)}
		}
	}
	return nil
}

// failed records a failed attempt against both the account and the address.
func (t loginThrottle) failed(ctx context.Context, email, ip string) error {
	for _, k := range []string{accountKey(email), addressKey(ip)} {
		if _, _, err := t.s.eph.Hit(ctx, k, t.s.cfg.LoginWindow); err != nil {
			return err
		}
	}
	return nil
}

// succeeded forgets the account's failures; the address's stay, so one valid account cannot
// be used to reset an attacker's budget for guessing others.
func (t loginThrottle) succeeded(ctx context.Context, email string) error {
	return t.s.eph.Reset(ctx, accountKey(email))
}
