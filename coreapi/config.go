package coreapi

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
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
	// AllowLoopbackOrigins also allows any http origin on a loopback address (localhost,
	// 127.0.0.1, [::1]) or on SiteHost, at any port: the embedded default's convenience for
	// local development servers, never for a deployed backend. Other *.localhost names are not
	// allowed: under backpack dev they are other backends' sites.
	AllowLoopbackOrigins bool
	// SiteHost is the host name of the backend's own site on this machine (NAME.localhost under
	// backpack dev); with AllowLoopbackOrigins its http origins at any port are allowed. It must
	// be localhost or a name under .localhost; empty means none.
	SiteHost string
	// FilesDir holds uploaded files, one directory per user.
	FilesDir string
	// SiteDir holds the static site's releases; nginx serves SiteDir/current.
	SiteDir string
	// MaxSiteBytes caps a site archive (default 100 MiB).
	MaxSiteBytes int64
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
	// Websocket limits: the largest message a client may send (default 1 MiB), how many
	// messages a second it may send on average and in a burst (default 50 and 100; above that
	// the connection is closed with a policy violation), and how many messages may wait for a
	// slow client before it is disconnected (default 256).
	WSReadLimit         int64
	WSMessagesPerSecond float64
	WSMessageBurst      int
	WSSendQueue         int
	// Websocket keepalive: the server pings every WSPingInterval (default 25 s) and drops a
	// connection it has heard nothing from, pongs included, for WSIdleTimeout (default 60 s).
	WSPingInterval time.Duration
	WSIdleTimeout  time.Duration
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
	DefaultMaxSiteBytes               = 100 << 20
	DefaultWSReadLimit                = 1 << 20
	DefaultWSMessagesPerSecond        = 50
	DefaultWSMessageBurst             = 100
	DefaultWSSendQueue                = 256
	DefaultWSPingInterval             = 25 * time.Second
	DefaultWSIdleTimeout              = 60 * time.Second
)

// withDefaults fills zero fields and checks the ones that have no sensible default.
func (c Config) withDefaults() (Config, error) {
	if c.APIKey == "" {
		return c, errors.New("config: an API key is required")
	}
	if c.AdminToken == "" {
		return c, errors.New("config: an admin token is required")
	}
	if c.FilesDir == "" || c.SiteDir == "" {
		return c, errors.New("config: a files directory and a site directory are required")
	}
	c.SiteHost = strings.ToLower(c.SiteHost)
	if c.SiteHost != "" && !isLoopbackName(c.SiteHost) {
		return c, fmt.Errorf("config: site host %q must be localhost or a name under .localhost", c.SiteHost)
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
	if c.MaxSiteBytes == 0 {
		c.MaxSiteBytes = DefaultMaxSiteBytes
	}
	if c.WSReadLimit == 0 {
		c.WSReadLimit = DefaultWSReadLimit
	}
	if c.WSMessagesPerSecond == 0 {
		c.WSMessagesPerSecond = DefaultWSMessagesPerSecond
	}
	if c.WSMessageBurst == 0 {
		c.WSMessageBurst = DefaultWSMessageBurst
	}
	if c.WSSendQueue == 0 {
		c.WSSendQueue = DefaultWSSendQueue
	}
	if c.WSPingInterval == 0 {
		c.WSPingInterval = DefaultWSPingInterval
	}
	if c.WSIdleTimeout == 0 {
		c.WSIdleTimeout = DefaultWSIdleTimeout
	}
	if c.WSIdleTimeout <= c.WSPingInterval {
		return c, errors.New("config: the websocket idle timeout must be longer than the ping interval")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}
