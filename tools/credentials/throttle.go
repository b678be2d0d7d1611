package credentials

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/backpackhq/backpack/tools/ephemeral"
)

// Throttle limits password guessing and sign-ups. Counters live in an ephemeral store (Redis
// when shared by replicas).
//
// A sign-in attempt takes a place under three limits before any password is checked (Begin),
// in one atomic step per counter, so concurrent guesses cannot together pass a limit; a wrong
// password keeps its places, which are the failure count, and a right one gives them back:
//   - per account and client address (MaxPerAccountAddress): the lockout a user meets, which
//     a stranger guessing from elsewhere cannot impose on the owner's address;
//   - per account from every address together (MaxPerAccount): a higher bound, so guessing
//     one password from many addresses is still bounded;
//   - per client address over every account (MaxPerAddress): one address trying many accounts.
//
// Sign-ups are limited per client address (MaxRegistrationsPerAddress), since each costs a
// password hash and creates an account. An IPv6 client is counted by its /64.
type Throttle struct {
	Store                ephemeral.Store
	Prefix               string // keeps two throttles on one store apart
	MaxPerAccountAddress int64
	MaxPerAccount        int64
	MaxPerAddress        int64
	Window               time.Duration
	// MaxRegistrationsPerAddress sign-ups are allowed from one address per RegistrationWindow.
	MaxRegistrationsPerAddress int64
	RegistrationWindow         time.Duration
}

// LimitedError is returned while a limit is full; RetryAfter is when its window ends. Code and
// Message are what the HTTP edges show (a 429 with Retry-After).
type LimitedError struct {
	Code       string
	Message    string
	RetryAfter time.Duration
}

func (e *LimitedError) Error() string {
	return fmt.Sprintf("%s (retry in %s)", e.Message, e.RetryAfter.Round(time.Second))
}

// client is the address a client is counted under: an IPv6 address's /64, since one
// subscriber commonly holds a whole /64 and could otherwise count as billions of clients.
func client(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil || !addr.Is6() || addr.Is4In6() {
		return ip
	}
	return netip.PrefixFrom(addr, 64).Masked().String()
}

// pairKey joins email and ip with a space, which no address holds, so no two pairs share a key.
func (t Throttle) pairKey(email, ip string) string {
	return t.Prefix + "login-fail:account-address:" + email + " " + client(ip)
}
func (t Throttle) accountKey(email string) string { return t.Prefix + "login-fail:account:" + email }
func (t Throttle) addressKey(ip string) string    { return t.Prefix + "login-fail:address:" + client(ip) }
func (t Throttle) registerKey(ip string) string   { return t.Prefix + "register:address:" + client(ip) }

// Attempt is one sign-in attempt holding its places under the throttle's limits.
type Attempt struct {
	t     Throttle
	email string
	ip    string
	keys  []string
}

// Begin takes a place for one attempt on the account email from the address ip under every
// limit, or returns a *LimitedError (taking nothing) when one is full. Then, after checking the
// password: a wrong password needs no call (its places count the failure until the window
// ends); a right one calls Succeeded; an attempt that could not be decided calls Cancel.
func (t Throttle) Begin(ctx context.Context, email, ip string) (*Attempt, error) {
	a := &Attempt{t: t, email: email, ip: ip}
	limits := []struct {
		key   string
		limit int64
	}{
		{t.pairKey(email, ip), t.MaxPerAccountAddress},
		{t.accountKey(email), t.MaxPerAccount},
		{t.addressKey(ip), t.MaxPerAddress},
	}
	for _, l := range limits {
		ok, resetIn, err := t.Store.Reserve(ctx, l.key, l.limit, t.Window)
		if err == nil && ok {
			a.keys = append(a.keys, l.key)
			continue
		}
		if cerr := a.Cancel(ctx); cerr != nil && err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("login throttle: %w", err)
		}
		return nil, &LimitedError{Code: "too_many_attempts", Message: "too many failed sign-in attempts; try again later",
			RetryAfter: max(resetIn, time.Second)}
	}
	return a, nil
}

// Succeeded ends an attempt whose password was right: its places are given back and this
// account's failures from this address are forgotten. The account's failures from elsewhere
// and the address's failures on other accounts stay, so signing in to one's own account does
// not reset anybody's budget for guessing.
func (a *Attempt) Succeeded(ctx context.Context) error {
	if err := a.Cancel(ctx); err != nil {
		return err
	}
	if err := a.t.Store.Reset(context.WithoutCancel(ctx), a.t.pairKey(a.email, a.ip)); err != nil {
		return fmt.Errorf("login throttle: %w", err)
	}
	return nil
}

// Cancel gives the attempt's places back without counting it, for an attempt that ended
// before the password was judged (a failing database, a client that went away).
func (a *Attempt) Cancel(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	var first error
	for _, k := range a.keys {
		if err := a.t.Store.Release(ctx, k); err != nil && first == nil {
			first = fmt.Errorf("login throttle: %w", err)
		}
	}
	a.keys = nil
	return first
}

// Register counts one sign-up from the address ip, or returns a *LimitedError when the
// address has used its sign-ups for the window. Every attempt counts, accepted or not.
func (t Throttle) Register(ctx context.Context, ip string) error {
	ok, resetIn, err := t.Store.Reserve(ctx, t.registerKey(ip), t.MaxRegistrationsPerAddress, t.RegistrationWindow)
	if err != nil {
		return fmt.Errorf("registration throttle: %w", err)
	}
	if !ok {
		return &LimitedError{Code: "too_many_registrations", Message: "too many sign-ups from this address; try again later",
			RetryAfter: max(resetIn, time.Second)}
	}
	return nil
}
