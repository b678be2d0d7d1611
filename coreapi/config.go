package coreapi

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Config is everything a backend API needs to know about its surroundings. cmd/backpack-api
// fills it from flags and environment; the control plane's local runtime fills it in-process.
type Config struct {
	// APIKey is the backend's key, required on every public request but health checks.
	APIKey string
	// AdminToken guards the private admin port.
	AdminToken string
	// CORSOrigins are the exact origins (scheme://host[:port]) allowed to call with credentials.
	CORSOrigins []string
	// FilesDir holds uploaded files, one directory per user.
	FilesDir string
	// MaxUploadBytes caps one uploaded file (default 25 MiB).
	MaxUploadBytes int64
	// MaxBodyBytes caps a JSON request body (default 1 MiB).
	MaxBodyBytes int64
	// SessionTTL is how long a session lasts after sign-in (default 14 days).
	SessionTTL time.Duration
	// Login throttling: after this many failed logins within LoginWindow for one account, or
	// from one client address, further attempts get 429 until the window ends.
	LoginMaxFailuresPerAccount int64
	LoginMaxFailuresPerAddress int64
	LoginWindow                time.Duration
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
}

// Defaults used when a Config field is left zero.
const (
	DefaultMaxUploadBytes             = 25 << 20
	DefaultMaxBodyBytes               = 1 << 20
	DefaultSessionTTL                 = 14 * 24 * time.Hour
	DefaultLoginMaxFailuresPerAccount = 5
	DefaultLoginMaxFailuresPerAddress = 50
	DefaultLoginWindow                = 15 * time.Minute
)

// withDefaults fills zero fields and checks the ones that have no sensible default.
func (c Config) withDefaults() (Config, error) {
	if c.APIKey == "" {
		return c, errors.New("config: an API key is required")
	}
	if c.AdminToken == "" {
		return c, errors.New("config: an admin token is required")
	}
	if c.FilesDir == "" {
		return c, errors.New("config: a files directory is required")
	}
	if c.MaxUploadBytes < 0 || c.MaxBodyBytes < 0 {
		return c, fmt.Errorf("config: size limits must not be negative")
	}
	if c.MaxUploadBytes == 0 {
		c.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = DefaultSessionTTL
	}
	if c.LoginMaxFailuresPerAccount == 0 {
		c.LoginMaxFailuresPerAccount = DefaultLoginMaxFailuresPerAccount
	}
	if c.LoginMaxFailuresPerAddress == 0 {
		c.LoginMaxFailuresPerAddress = DefaultLoginMaxFailuresPerAddress
	}
	if c.LoginWindow == 0 {
		c.LoginWindow = DefaultLoginWindow
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}
