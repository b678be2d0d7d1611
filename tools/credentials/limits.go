package credentials

import (
	"errors"
	"time"

	"github.com/backpackhq/backpack/tools/ephemeral"
)

// Defaults of Limits, used where a field is left zero.
const (
	DefaultLoginMaxFailuresPerAccountAddress = 5
	DefaultLoginMaxFailuresPerAccount        = 100
	DefaultLoginMaxFailuresPerAddress        = 50
	DefaultLoginWindow                       = 15 * time.Minute
	DefaultRegistrationsPerAddress           = 20
	DefaultRegistrationWindow                = time.Hour
)

// Limits are a Throttle's bounds as an application configures them, so that every sign-in
// form (end users' and developers') has the same settings, defaults and checks; a zero field
// means its default.
//
// Within LoginWindow (default 15 min), after LoginMaxFailuresPerAccountAddress failed logins
// to one account from one client address (default 5), after LoginMaxFailuresPerAccount to one
// account from all addresses together (default 100), or after LoginMaxFailuresPerAddress from
// one address to any accounts (default 50), further attempts are refused until the window
// ends. A stranger's failures thus lock the account only from the stranger's address, until
// the account-wide bound. At most RegistrationsPerAddress sign-ups (accepted or not) are
// allowed from one client address per RegistrationWindow (default 20 per hour).
type Limits struct {
	LoginMaxFailuresPerAccountAddress int64
	LoginMaxFailuresPerAccount        int64
	LoginMaxFailuresPerAddress        int64
	LoginWindow                       time.Duration
	RegistrationsPerAddress           int64
	RegistrationWindow                time.Duration
}

// WithDefaults fills the zero fields with their defaults and refuses negative ones.
func (l Limits) WithDefaults() (Limits, error) {
	if l.LoginMaxFailuresPerAccountAddress < 0 || l.LoginMaxFailuresPerAccount < 0 || l.LoginMaxFailuresPerAddress < 0 ||
		l.RegistrationsPerAddress < 0 || l.LoginWindow < 0 || l.RegistrationWindow < 0 {
		return l, errors.New("login and sign-up limits must not be negative")
	}
	setDefault(&l.LoginMaxFailuresPerAccountAddress, DefaultLoginMaxFailuresPerAccountAddress)
	setDefault(&l.LoginMaxFailuresPerAccount, DefaultLoginMaxFailuresPerAccount)
	setDefault(&l.LoginMaxFailuresPerAddress, DefaultLoginMaxFailuresPerAddress)
	setDefault(&l.LoginWindow, DefaultLoginWindow)
	setDefault(&l.RegistrationsPerAddress, DefaultRegistrationsPerAddress)
	setDefault(&l.RegistrationWindow, DefaultRegistrationWindow)
	return l, nil
}

// Throttle is the throttle that enforces the limits with its counters in store. The limits
// should have been through WithDefaults: a zero limit refuses every attempt.
func (l Limits) Throttle(store ephemeral.Store) Throttle {
	return Throttle{Store: store, MaxPerAccountAddress: l.LoginMaxFailuresPerAccountAddress,
		MaxPerAccount: l.LoginMaxFailuresPerAccount, MaxPerAddress: l.LoginMaxFailuresPerAddress, Window: l.LoginWindow,
		MaxRegistrationsPerAddress: l.RegistrationsPerAddress, RegistrationWindow: l.RegistrationWindow}
}

func setDefault[T int64 | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}
