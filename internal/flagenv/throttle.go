package flagenv

import (
	"errors"
	"flag"

	"github.com/backpackhq/backpack/tools/credentials"
)

// Throttle registers the login and sign-up limits' flags on fs, filling l, with defaults
// from env, else credentials'. accounts says whose accounts they protect in the help text
// ("developer" for the control plane; empty for a backend's end users).
func Throttle(fs *flag.FlagSet, env Env, l *credentials.Limits, accounts string) {
	if accounts != "" {
		accounts += " "
	}
	fs.Int64Var(&l.LoginMaxFailuresPerAccountAddress, "login-max-failures-per-account-address",
		env.Int64("BACKPACK_LOGIN_MAX_FAILURES_PER_ACCOUNT_ADDRESS", credentials.DefaultLoginMaxFailuresPerAccountAddress),
		"failed logins to one "+accounts+"account from one client address per login window before 429 (BACKPACK_LOGIN_MAX_FAILURES_PER_ACCOUNT_ADDRESS)")
	fs.Int64Var(&l.LoginMaxFailuresPerAccount, "login-max-failures-per-account",
		env.Int64("BACKPACK_LOGIN_MAX_FAILURES_PER_ACCOUNT", credentials.DefaultLoginMaxFailuresPerAccount),
		"failed logins to one "+accounts+"account from all addresses per login window before 429 (BACKPACK_LOGIN_MAX_FAILURES_PER_ACCOUNT)")
	fs.Int64Var(&l.LoginMaxFailuresPerAddress, "login-max-failures-per-address",
		env.Int64("BACKPACK_LOGIN_MAX_FAILURES_PER_ADDRESS", credentials.DefaultLoginMaxFailuresPerAddress),
		"failed logins from one client address to any accounts per login window before 429 (BACKPACK_LOGIN_MAX_FAILURES_PER_ADDRESS)")
	fs.DurationVar(&l.LoginWindow, "login-window", env.Duration("BACKPACK_LOGIN_WINDOW", credentials.DefaultLoginWindow),
		"how long failed logins count (BACKPACK_LOGIN_WINDOW)")
	fs.Int64Var(&l.RegistrationsPerAddress, "registrations-per-address",
		env.Int64("BACKPACK_REGISTRATIONS_PER_ADDRESS", credentials.DefaultRegistrationsPerAddress),
		accounts+"sign-ups from one client address per registration window before 429 (BACKPACK_REGISTRATIONS_PER_ADDRESS)")
	fs.DurationVar(&l.RegistrationWindow, "registration-window", env.Duration("BACKPACK_REGISTRATION_WINDOW", credentials.DefaultRegistrationWindow),
		"how long sign-ups count (BACKPACK_REGISTRATION_WINDOW)")
}

// CheckThrottle refuses limits that are not positive: the flags always give every one a
// value, so a zero is a mistake, not a request for the default.
func CheckThrottle(l credentials.Limits) error {
	switch {
	case l.LoginMaxFailuresPerAccountAddress <= 0 || l.LoginMaxFailuresPerAccount <= 0 || l.LoginMaxFailuresPerAddress <= 0 ||
		l.RegistrationsPerAddress <= 0:
		return errors.New("the login and sign-up limits (BACKPACK_LOGIN_MAX_FAILURES_*, BACKPACK_REGISTRATIONS_PER_ADDRESS) must be positive numbers")
	case l.LoginWindow <= 0 || l.RegistrationWindow <= 0:
		return errors.New("BACKPACK_LOGIN_WINDOW and BACKPACK_REGISTRATION_WINDOW must be positive durations such as 15m or 1h")
	}
	return nil
}
