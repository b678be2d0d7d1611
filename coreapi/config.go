package coreapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/tools/credentials"
	"github.com/backpackhq/backpack/tools/httpapi"
)

// Config is everything a backend API needs to know about its surroundings. cmd/backpack-api
// fills it from flags and environment; the control plane's local runtime fills it in-process.
type Config struct {
	// APIKey is the backend's key, required on every public request but health checks.
	APIKey string
	// APIKeyOverlap is how long the key in force before a rotation keeps working after it
	// (default DefaultAPIKeyOverlap, 10 s), unless the rotation revokes it.
	APIKeyOverlap time.Duration
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
	// MaxRestoreBytes caps a backup archive sent to POST /admin/restore, uncompressed and as
	// sent (default 16 GiB); it is spooled to the files volume, which must have room for it.
	MaxRestoreBytes int64
	// MaxUploadBytes caps one uploaded file (default 25 MiB).
	MaxUploadBytes int64
	// MaxBodyBytes caps a JSON request body (default 1 MiB).
	MaxBodyBytes int64
	// SessionTTL is how long a session lasts after sign-in (default 14 days).
	SessionTTL time.Duration
	// Limits are the login and sign-up throttling of end users (see credentials.Limits for
	// what each bounds and its default); attempts beyond them get 429 until the window ends.
	credentials.Limits
	// TrustedProxies are the reverse proxies in front of the API (CIDRs or addresses): only
	// from these peers is X-Forwarded-For believed for the client's address. Empty (the
	// default) trusts nobody and counts the connection's peer. A stack trusts Traefik's
	// network, backpack_public (see docs/swarm.md).
	TrustedProxies []string
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
	// Quotas are the backend's quotas until its runtime settings change them; nil means
	// DefaultQuotas(). A zero field means unlimited.
	Quotas *Quotas
	// Relayed websocket messages (custom actions sent on to other connections): the largest
	// one (default 16 KiB; larger ones get a message_too_large error reply) and how many a
	// connection may relay a second on average and in a burst (default 10 and 20; above that
	// they get a rate_limited error reply). The connection stays open in both cases.
	WSRelayMaxBytes   int64
	WSRelaysPerSecond float64
	WSRelayBurst      int
	// WSMaxConnectionsPerUser caps one end user's open websockets on this replica (default
	// 20); further handshakes get 429 too_many_connections.
	WSMaxConnectionsPerUser int
	// Document complexity: the most keys any one object of a stored document may have
	// (default 1,000) and the most values the whole document may hold (default 10,000). The
	// database engine slows down quadratically on wide documents; larger ones get 400
	// document_too_complex wherever they are written.
	MaxDocumentKeys  int
	MaxDocumentNodes int
	// QueryTimeout bounds the database work of one request or websocket action (default
	// 10 s); past it the client gets 503 query_timeout and the database call is cancelled.
	QueryTimeout time.Duration
	// Functions: how many worker processes run the backend's functions at once (default
	// 2×GOMAXPROCS, at least 2) and how much JavaScript heap each may use (default 128 MiB);
	// see docs/functions.md. Workers start when a function is first called and stop when idle.
	FunctionWorkers     int
	FunctionMemoryBytes int64
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger

	trustedProxies []*net.IPNet // TrustedProxies, parsed by withDefaults
}

// Defaults used when a Config field is left zero.
const (
	DefaultMaxUploadBytes      = 25 << 20
	DefaultMaxBodyBytes        = 1 << 20
	DefaultSessionTTL          = 14 * 24 * time.Hour
	DefaultMaxSiteBytes        = 100 << 20
	DefaultMaxRestoreBytes     = 16 << 30
	DefaultWSReadLimit         = 1 << 20
	DefaultWSMessagesPerSecond = 50
	DefaultWSMessageBurst      = 100
	DefaultWSSendQueue         = 256
	DefaultWSPingInterval      = 25 * time.Second
	DefaultWSIdleTimeout       = 60 * time.Second
	DefaultAPIKeyOverlap       = core.DefaultAPIKeyOverlap
	DefaultFunctionMemoryMB    = 128
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
	if c.APIKeyOverlap < 0 {
		return c, errors.New("config: the API key overlap must not be negative")
	}
	if c.APIKeyOverlap == 0 {
		c.APIKeyOverlap = DefaultAPIKeyOverlap
	}
	limits, err := c.Limits.WithDefaults()
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	c.Limits = limits
	trusted, err := httpapi.ParseTrustedProxies(c.TrustedProxies)
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	c.trustedProxies = trusted
	if c.MaxSiteBytes == 0 {
		c.MaxSiteBytes = DefaultMaxSiteBytes
	}
	if c.MaxRestoreBytes == 0 {
		c.MaxRestoreBytes = DefaultMaxRestoreBytes
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
	if c.Quotas == nil {
		q := DefaultQuotas()
		c.Quotas = &q
	}
	if err := c.Quotas.Validate(); err != nil {
		return c, err
	}
	if err := c.applyAbuseLimits(); err != nil {
		return c, err
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}
