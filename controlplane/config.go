package controlplane

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/backpackhq/backpack/controlplane/runtime"
	"github.com/backpackhq/backpack/controlplane/store"
	"github.com/backpackhq/backpack/stacktemplates"
	"github.com/backpackhq/backpack/tools/credentials"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/backpackhq/backpack/tools/secretbox"
)

// Config is everything the control plane needs; cmd/backpack fills it from flags and
// environment, tests fill it directly.
type Config struct {
	Store   store.Store
	Runtime runtime.Runtime
	// Secrets seals backends' API keys and admin tokens before they reach the store.
	Secrets *secretbox.Box
	// Domain is the parent of every backend's hosts: NAME-be.DOMAIN, NAME.DOMAIN, admin.DOMAIN.
	Domain string
	// PublicScheme and PublicPort are how browsers reach those hosts ("https" and "" behind
	// Traefik; "http" and the listen port in dev). They build the URLs in responses and decide
	// whether cookies are Secure.
	PublicScheme string
	PublicPort   string
	// Registration is the mode stored at first start, when the database has none yet; the
	// operator changes it later through the API.
	Registration store.RegistrationMode
	// SessionTTL is how long a developer stays signed in (default 7 days).
	SessionTTL time.Duration
	// KeepAlive is how often an idle event stream gets a comment, so proxies keep it open, and
	// how often every long-lived answer (event and log streams, proxied websockets) checks that
	// its session still lasts (default 15 s); sign-out and expiry end them at once.
	KeepAlive time.Duration
	// InviteTTL is how long an invite can be used (default 7 days).
	InviteTTL time.Duration
	// MaxBackendsPerDeveloper caps backends (not counting deleted ones) per developer; 0 means
	// no cap. The operator has none.
	MaxBackendsPerDeveloper int
	// MaxAPIReplicas is the most API replicas a developer may give a backend (default 5, at
	// most stacktemplates.MaxAPIReplicas). Every replica runs on the backend's node.
	MaxAPIReplicas int
	// MaxSiteBytes caps a site archive upload (default 100 MiB).
	MaxSiteBytes int64
	// Limits are the login and sign-up throttling of developers, as of end users (see
	// credentials.Limits for what each bounds and its default).
	credentials.Limits
	// TrustedProxies are the reverse proxies in front of the control plane (CIDRs or
	// addresses), whose X-Forwarded-For alone is believed; empty (the default, and `backpack
	// dev`) trusts nobody. Behind Traefik: backpack_public's subnet (docs/deploy.md).
	TrustedProxies []string
	// Reconciler timing: how often it looks at every backend even without a change (default
	// 5 s), how often it checks running backends' health (default 15 s), the first and largest
	// wait between retries of a failed operation (default 2 s and 2 min), after how many
	// failed attempts the backend shows as failed (default 3; retries go on), and how long a
	// just-applied backend may take to become ready (default 3 min).
	ReconcileInterval time.Duration
	HealthInterval    time.Duration
	RetryBase         time.Duration
	RetryMax          time.Duration
	FailAfter         int
	ReadyTimeout      time.Duration
	// BackupDir is where backups are kept (BACKPACK_BACKUP_DIR), one <id>.tar per ready
	// backup; files being written or uploaded for a restore start with a dot. Required.
	BackupDir string
	// BackupSchedule and BackupKeep are the operator's defaults for backends without a
	// backup setting of their own (default daily, and 7 scheduled backups kept).
	BackupSchedule store.BackupSchedule
	BackupKeep     int
	// BackupQuotaBytes caps the bytes of a developer's stored backups (default 10 GiB;
	// negative means no cap). The operator's backups have none.
	BackupQuotaBytes int64
	// BackupTick is how often the leader's backup scheduler looks for backups due, stale
	// backups and retention (default 1 min); BackupHour is the period of the hourly schedule,
	// the daily one being 24 of them (default 1 h). Tests shorten both.
	BackupTick time.Duration
	BackupHour time.Duration
	// MetricsToken, when set, is required as a bearer token on /metrics.
	MetricsToken string
	Logger       *slog.Logger

	trustedProxies []*net.IPNet // TrustedProxies, parsed by withDefaults
}

// Defaults used when a Config field is left zero.
const (
	DefaultSessionTTL        = 7 * 24 * time.Hour
	DefaultInviteTTL         = 7 * 24 * time.Hour
	DefaultMaxSiteBytes      = 100 << 20
	DefaultReconcileInterval = 5 * time.Second
	DefaultHealthInterval    = 15 * time.Second
	DefaultRetryBase         = 2 * time.Second
	DefaultRetryMax          = 2 * time.Minute
	DefaultFailAfter         = 3
	DefaultReadyTimeout      = 3 * time.Minute
	DefaultBackupSchedule    = store.ScheduleDaily
	DefaultBackupKeep        = 7
	DefaultBackupQuotaBytes  = 10 << 30
	DefaultBackupTick        = time.Minute
	DefaultBackupHour        = time.Hour
	DefaultMaxAPIReplicas    = 5
	// MaxBackupKeep bounds the keep a backend or the operator may set.
	MaxBackupKeep = 1000
)

func (c Config) withDefaults() (Config, error) {
	switch {
	case c.Store == nil:
		return c, errors.New("control plane: a store is required")
	case c.Runtime == nil:
		return c, errors.New("control plane: a runtime is required")
	case c.Secrets == nil:
		return c, errors.New("control plane: a secret key is required")
	case c.BackupDir == "":
		return c, errors.New("control plane: a backup directory is required")
	case c.Domain == "" || strings.ContainsAny(c.Domain, "/: ") || strings.HasPrefix(c.Domain, "."):
		return c, fmt.Errorf("control plane: domain %q must be a host name such as example.com or localhost", c.Domain)
	}
	c.Domain = strings.ToLower(c.Domain)
	if c.PublicScheme == "" {
		c.PublicScheme = "https"
	}
	if c.PublicScheme != "http" && c.PublicScheme != "https" {
		return c, fmt.Errorf("control plane: public scheme %q must be http or https", c.PublicScheme)
	}
	switch c.Registration {
	case "":
		c.Registration = store.RegistrationInvite
	case store.RegistrationOpen, store.RegistrationInvite, store.RegistrationClosed:
	default:
		return c, fmt.Errorf("control plane: registration %q must be open, invite or closed", c.Registration)
	}
	setDefault(&c.SessionTTL, DefaultSessionTTL)
	setDefault(&c.KeepAlive, 15*time.Second)
	setDefault(&c.InviteTTL, DefaultInviteTTL)
	setDefault(&c.MaxSiteBytes, DefaultMaxSiteBytes)
	setDefault(&c.MaxAPIReplicas, DefaultMaxAPIReplicas)
	if c.MaxAPIReplicas < 1 || c.MaxAPIReplicas > stacktemplates.MaxAPIReplicas {
		return c, fmt.Errorf("control plane: the most API replicas per backend must be 1 to %d, not %d", stacktemplates.MaxAPIReplicas, c.MaxAPIReplicas)
	}
	limits, err := c.Limits.WithDefaults()
	if err != nil {
		return c, fmt.Errorf("control plane: %w", err)
	}
	c.Limits = limits
	trusted, err := httpapi.ParseTrustedProxies(c.TrustedProxies)
	if err != nil {
		return c, fmt.Errorf("control plane: %w", err)
	}
	c.trustedProxies = trusted
	setDefault(&c.ReconcileInterval, DefaultReconcileInterval)
	setDefault(&c.HealthInterval, DefaultHealthInterval)
	setDefault(&c.RetryBase, DefaultRetryBase)
	setDefault(&c.RetryMax, DefaultRetryMax)
	setDefault(&c.FailAfter, DefaultFailAfter)
	setDefault(&c.ReadyTimeout, DefaultReadyTimeout)
	setDefault(&c.BackupSchedule, DefaultBackupSchedule)
	setDefault(&c.BackupKeep, DefaultBackupKeep)
	setDefault(&c.BackupQuotaBytes, DefaultBackupQuotaBytes)
	setDefault(&c.BackupTick, DefaultBackupTick)
	setDefault(&c.BackupHour, DefaultBackupHour)
	if _, ok := schedulePeriods[c.BackupSchedule]; !ok {
		return c, fmt.Errorf("control plane: backup schedule %q must be hourly, daily or off", c.BackupSchedule)
	}
	if c.BackupKeep < 1 || c.BackupKeep > MaxBackupKeep {
		return c, fmt.Errorf("control plane: backups kept must be 1 to %d, not %d", MaxBackupKeep, c.BackupKeep)
	}
	if err := os.MkdirAll(c.BackupDir, 0o700); err != nil {
		return c, fmt.Errorf("control plane: backup directory: %w", err)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

func setDefault[T comparable](field *T, def T) {
	var zero T
	if *field == zero {
		*field = def
	}
}

// hostURL is how a browser reaches a host under the domain.
func (c Config) hostURL(label string) string {
	u := c.PublicScheme + "://" + label + "." + c.Domain
	if c.PublicPort != "" {
		u += ":" + c.PublicPort
	}
	return u
}

// apiURL and siteURL are a backend's two public addresses.
func (c Config) apiURL(name string) string  { return c.hostURL(name + "-be") }
func (c Config) siteURL(name string) string { return c.hostURL(name) }
