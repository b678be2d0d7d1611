package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/backpackhq/backpack/controlplane"
	"github.com/backpackhq/backpack/controlplane/store"
	"github.com/backpackhq/backpack/internal/flagenv"
	"github.com/backpackhq/backpack/stacktemplates"
	"github.com/backpackhq/backpack/tools/credentials"
	"github.com/backpackhq/backpack/tools/secretbox"
)

// defaultPort is the control plane's port unless BACKPACK_PORT says otherwise.
const defaultPort = 8080

// settings are one command's flags and environment, before anything is opened.
type settings struct {
	dev          bool
	databaseURL  string
	runtime      string
	domain       string
	port         int
	listenHost   string
	publicScheme string
	publicPort   string
	dataDir      string
	secretKey    string
	secretFile   string
	registration string
	maxBackends  int
	maxReplicas  int
	metricsToken string
	// backups: where they are kept ("" is <data dir>/backups), the operator's default schedule
	// and keep, and each developer's quota in bytes (0: none).
	backupDir        string
	backupSchedule   string
	backupKeep       int
	backupQuotaBytes int64
	redisURL         string
	// trustedProxies are the control plane's (and the local runtime's backends'): none in
	// dev, backpack_public's subnet by default with the swarm runtime.
	trustedProxies []string
	throttle       credentials.Limits
	// drain is how long the listener keeps serving after SIGTERM while /readyz answers 503
	// (httpserve.Shutdown.Drain): none in dev, where no load balancer is in front.
	drain time.Duration

	// databasePasswordFile fills in DATABASE_URL's password (a Docker secret in the stack).
	databasePasswordFile string
	// stack and tls are what the swarm runtime puts into every backend's stack.
	stack stacktemplates.Vars
	tls   string
}

func parseSettings(dev bool, args []string, getenv func(string) string) (settings, error) {
	env := flagenv.FromGetenv(getenv)
	s := settings{dev: dev, secretKey: getenv("BACKPACK_SECRET_KEY"), metricsToken: getenv("BACKPACK_METRICS_TOKEN")}
	name, defDomain, defScheme, defHost, defRegistration := "serve", "", "https", "", ""
	if dev {
		name, defDomain, defScheme, defHost, defRegistration = "dev", "localhost", "http", "127.0.0.1", "open"
	}
	fs := flag.NewFlagSet("backpack "+name, flag.ContinueOnError)
	if !dev {
		fs.StringVar(&s.databaseURL, "database-url", env("DATABASE_URL", ""), "PostgreSQL URL, required (DATABASE_URL)")
		fs.StringVar(&s.databasePasswordFile, "database-password-file", env("BACKPACK_DATABASE_PASSWORD_FILE", ""), "file holding the password for DATABASE_URL, which then carries none (BACKPACK_DATABASE_PASSWORD_FILE)")
		fs.StringVar(&s.runtime, "runtime", env("BACKPACK_RUNTIME", "local"), "what runs backends: swarm (a stack per backend on the Docker Swarm at DOCKER_HOST) or local (in this process) (BACKPACK_RUNTIME)")
		fs.StringVar(&s.secretFile, "secret-key-file", env("BACKPACK_SECRET_KEY_FILE", ""), "file holding the 32-byte key (base64 or hex) that encrypts backends' secrets at rest; or set BACKPACK_SECRET_KEY (BACKPACK_SECRET_KEY_FILE)")
	}
	fs.StringVar(&s.domain, "domain", env("BACKPACK_DOMAIN", defDomain), "parent domain: backends answer at NAME-be.DOMAIN and NAME.DOMAIN, the panel at admin.DOMAIN (BACKPACK_DOMAIN)")
	fs.IntVar(&s.port, "port", env.Int("BACKPACK_PORT", defaultPort), "port to listen on; 0 picks a free one (BACKPACK_PORT)")
	fs.StringVar(&s.listenHost, "listen-host", env("BACKPACK_LISTEN_HOST", defHost), "interface to listen on; empty means all (BACKPACK_LISTEN_HOST)")
	fs.StringVar(&s.publicScheme, "public-scheme", env("BACKPACK_PUBLIC_SCHEME", defScheme), "scheme browsers use to reach the domain's hosts: https behind Traefik (BACKPACK_PUBLIC_SCHEME)")
	fs.StringVar(&s.publicPort, "public-port", env("BACKPACK_PUBLIC_PORT", ""), "port browsers use, when not the scheme's default; dev uses the listen port (BACKPACK_PUBLIC_PORT)")
	fs.StringVar(&s.redisURL, "redis-url", env("REDIS_URL", ""), "Redis where the local runtime keeps end users' sessions, so they survive restarts; by default they are kept in memory (REDIS_URL)")
	fs.StringVar(&s.dataDir, "data-dir", env("BACKPACK_DATA_DIR", "./data"), "directory for the local runtime's backends (and, in dev, the database and secret key) (BACKPACK_DATA_DIR)")
	fs.StringVar(&s.registration, "registration", env("BACKPACK_REGISTRATION", defRegistration), "who may sign up after the first (operator) account: open, invite or closed; applied at first start, then changed by the operator in the panel (BACKPACK_REGISTRATION)")
	fs.IntVar(&s.maxBackends, "max-backends-per-developer", env.Int("BACKPACK_MAX_BACKENDS_PER_DEVELOPER", 10), "backends a developer may have; 0 means no limit; the operator has none (BACKPACK_MAX_BACKENDS_PER_DEVELOPER)")
	fs.IntVar(&s.maxReplicas, "max-api-replicas", env.Int("BACKPACK_MAX_API_REPLICAS", controlplane.DefaultMaxAPIReplicas), fmt.Sprintf("API replicas a backend may run, all on its node; 1 to %d (BACKPACK_MAX_API_REPLICAS)", stacktemplates.MaxAPIReplicas))
	fs.StringVar(&s.backupDir, "backup-dir", env("BACKPACK_BACKUP_DIR", ""), "directory where backups of backends are kept; default: backups in the data directory (BACKPACK_BACKUP_DIR)")
	fs.StringVar(&s.backupSchedule, "backup-schedule", env("BACKPACK_BACKUP_SCHEDULE", string(controlplane.DefaultBackupSchedule)), "scheduled backups of backends without a schedule of their own: hourly, daily or off (BACKPACK_BACKUP_SCHEDULE)")
	fs.IntVar(&s.backupKeep, "backup-keep", env.Int("BACKPACK_BACKUP_KEEP", controlplane.DefaultBackupKeep), "scheduled backups kept per backend, for backends without a setting of their own (BACKPACK_BACKUP_KEEP)")
	fs.Int64Var(&s.backupQuotaBytes, "backup-quota-bytes", env.Int64("BACKPACK_BACKUP_QUOTA_BYTES", controlplane.DefaultBackupQuotaBytes), "bytes of backups each developer may keep; 0 means no limit; the operator has none (BACKPACK_BACKUP_QUOTA_BYTES)")
	flagenv.Throttle(fs, env, &s.throttle, "developer")
	defDrain := flagenv.DefaultDrain
	if dev {
		defDrain = 0
	}
	flagenv.Drain(fs, env, &s.drain, defDrain)
	if !dev {
		stackFlags(fs, env, &s.stack, &s.tls)
	}
	if err := fs.Parse(args); err != nil {
		return s, err
	}
	if fs.NArg() > 0 {
		return s, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	switch {
	case s.port < 0 || s.port > 65535:
		return s, errors.New("BACKPACK_PORT / --port must be a port number (0: any free port)")
	case s.maxBackends < 0:
		return s, errors.New("BACKPACK_MAX_BACKENDS_PER_DEVELOPER must be 0 or more")
	case s.maxReplicas < 1 || s.maxReplicas > stacktemplates.MaxAPIReplicas:
		return s, fmt.Errorf("BACKPACK_MAX_API_REPLICAS must be 1 to %d", stacktemplates.MaxAPIReplicas)
	case s.backupSchedule != "hourly" && s.backupSchedule != "daily" && s.backupSchedule != "off":
		return s, fmt.Errorf("BACKPACK_BACKUP_SCHEDULE %q must be hourly, daily or off", s.backupSchedule)
	case s.backupKeep < 1 || s.backupKeep > controlplane.MaxBackupKeep:
		return s, fmt.Errorf("BACKPACK_BACKUP_KEEP must be 1 to %d", controlplane.MaxBackupKeep)
	case s.backupQuotaBytes < 0:
		return s, errors.New("BACKPACK_BACKUP_QUOTA_BYTES must be 0 (no limit) or more")
	case s.domain == "":
		return s, errors.New("BACKPACK_DOMAIN (or --domain) is required: backends answer at NAME-be.DOMAIN")
	}
	if s.backupDir == "" {
		s.backupDir = filepath.Join(s.dataDir, "backups")
	}
	if err := flagenv.CheckThrottle(s.throttle); err != nil {
		return s, err
	}
	if err := flagenv.CheckDrain(s.drain); err != nil {
		return s, err
	}
	switch store.RegistrationMode(s.registration) {
	case "", store.RegistrationOpen, store.RegistrationInvite, store.RegistrationClosed:
	default:
		return s, fmt.Errorf("registration %q must be open, invite or closed", s.registration)
	}
	if !dev {
		if s.databaseURL == "" {
			return s, errors.New("DATABASE_URL (or --database-url) is required; to try Backpack with no database server, run: backpack dev")
		}
		if s.runtime != "local" && s.runtime != "swarm" {
			return s, fmt.Errorf("runtime %q: use swarm or local", s.runtime)
		}
		// The control plane sits behind the same Traefik as the backends a swarm runs.
		s.trustedProxies = s.stack.TrustedProxies
		if s.runtime == "swarm" {
			s.trustedProxies = s.stack.WithDefaults().TrustedProxies
			tls, err := resolveTLS(s.tls, s.domain)
			if err != nil {
				return s, err
			}
			s.stack.TLS = tls
			if err := stacktemplates.ValidateDomain(s.domain); err != nil {
				return s, fmt.Errorf("BACKPACK_DOMAIN: %w", err)
			}
		}
		if s.secretKey == "" && s.secretFile == "" {
			return s, errors.New("a secret key is required: set BACKPACK_SECRET_KEY or BACKPACK_SECRET_KEY_FILE (generate one with: openssl rand -base64 32)")
		}
	}
	return s, nil
}

// databaseURLWithPassword is DATABASE_URL with the password from --database-password-file, if given.
func (s settings) databaseURLWithPassword() (string, error) {
	if s.databasePasswordFile == "" {
		return s.databaseURL, nil
	}
	b, err := os.ReadFile(s.databasePasswordFile)
	if err != nil {
		return "", fmt.Errorf("database password: %w", err)
	}
	password := strings.TrimRight(string(b), "\r\n")
	u, err := url.Parse(s.databaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.User == nil {
		return "", errors.New("with BACKPACK_DATABASE_PASSWORD_FILE, DATABASE_URL must be a URL with a user name: postgres://USER@HOST:PORT/DB")
	}
	if _, has := u.User.Password(); has {
		return "", errors.New("DATABASE_URL holds a password and BACKPACK_DATABASE_PASSWORD_FILE names another: keep one")
	}
	if password == "" {
		return "", fmt.Errorf("database password file %s is empty", s.databasePasswordFile)
	}
	u.User = url.UserPassword(u.User.Username(), password)
	return u.String(), nil
}

// secrets loads the key that seals backends' secrets: given directly, from a file, or in dev
// generated once under the data directory.
func (s settings) secrets(devKeyFile string) (*secretbox.Box, error) {
	var key []byte
	var err error
	switch {
	case s.secretKey != "":
		key, err = secretbox.ParseKey(s.secretKey)
		if err != nil {
			err = fmt.Errorf("BACKPACK_SECRET_KEY: %w", err)
		}
	case s.secretFile != "":
		key, err = secretbox.LoadKeyFile(s.secretFile)
	default:
		key, err = secretbox.LoadOrCreateKeyFile(devKeyFile)
	}
	if err != nil {
		return nil, err
	}
	return secretbox.New(key)
}
