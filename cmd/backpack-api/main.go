// Command backpack-api is the per-backend API: the image every backend stack runs, and, with
// --embedded, a self-contained server for trying Backpack with no other software installed.
// `backpack-api healthcheck` asks a running one whether it should take traffic (its container's check);
// `backpack-api purge-volumes NAME` removes a purged backend's volumes on the node it runs on.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/backpackhq/backpack/coreapi"
	"github.com/backpackhq/backpack/internal/flagenv"
	"github.com/backpackhq/backpack/internal/healthcheck"
	"github.com/backpackhq/backpack/tools/credentials"
	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/docstore/ferretimport"
	"github.com/backpackhq/backpack/tools/docstore/mongostore"
	"github.com/backpackhq/backpack/tools/docstore/sqlitestore"
	"github.com/backpackhq/backpack/tools/ephemeral"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/backpackhq/backpack/tools/httpserve"
	"github.com/backpackhq/backpack/tools/volumepurge"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, log); err != nil {
		fmt.Fprintln(os.Stderr, "backpack-api:", err)
		os.Exit(1)
	}
}

// settings are the command line and environment, before anything is opened.
type settings struct {
	embedded       bool
	engine         string
	dataDir        string
	mongoURL       string
	database       string
	redisURL       string
	apiKeyFile     string
	apiKeyOverlap  time.Duration
	adminTokenFile string
	corsOrigins    string
	siteHost       string
	filesDir       string
	siteDir        string
	port           int
	adminPort      int
	maxUpload      int64
	quotas         coreapi.Quotas
	listenHost     string
	adminHost      string
	limits         limitSettings
	trustedProxies string
	throttle       credentials.Limits
	// drain is how long the listeners keep serving after SIGTERM while /readyz answers 503
	// (httpserve.Shutdown.Drain): flagenv.DefaultDrain, or none with --embedded.
	drain time.Duration
}

func parseSettings(args []string, getenv func(string) string) (settings, error) {
	env := flagenv.FromGetenv(getenv)
	var s settings
	fs := flag.NewFlagSet("backpack-api", flag.ContinueOnError)
	fs.BoolVar(&s.embedded, "embedded", false, "run with no external servers: the sqlite engine under --data-dir, sessions in memory, generated secrets")
	fs.StringVar(&s.engine, "engine", env("BACKPACK_DB_ENGINE", ""), "document store: sqlite (one file, DATA_DIR/data.db) or mongo (MONGO_URL); default: sqlite with --embedded and no MongoDB URL, else mongo (BACKPACK_DB_ENGINE)")
	fs.StringVar(&s.dataDir, "data-dir", env("BACKPACK_DATA_DIR", "./data"), "directory for the sqlite engine's database, generated secrets and, by default, files (BACKPACK_DATA_DIR)")
	fs.StringVar(&s.mongoURL, "mongo-url", env("MONGO_URL", ""), "MongoDB URL; required by the mongo engine (MONGO_URL)")
	fs.StringVar(&s.database, "database", env("BACKPACK_DATABASE", ""), "mongo engine: database name; default: the URL's path, else \"backpack\" (BACKPACK_DATABASE)")
	fs.StringVar(&s.redisURL, "redis-url", env("REDIS_URL", ""), "Redis URL for sessions; required unless --embedded (REDIS_URL)")
	fs.StringVar(&s.apiKeyFile, "api-key-file", env("BACKPACK_API_KEY_FILE", ""), "file holding the API key (BACKPACK_API_KEY_FILE)")
	fs.DurationVar(&s.apiKeyOverlap, "api-key-overlap", env.Duration("BACKPACK_API_KEY_OVERLAP", coreapi.DefaultAPIKeyOverlap), "how long the previous API key keeps working after a rotation, unless the rotation revokes it (BACKPACK_API_KEY_OVERLAP)")
	fs.StringVar(&s.adminTokenFile, "admin-token-file", env("BACKPACK_ADMIN_TOKEN_FILE", ""), "file holding the admin token (BACKPACK_ADMIN_TOKEN_FILE)")
	fs.StringVar(&s.corsOrigins, "cors-origins", env("BACKPACK_CORS_ORIGINS", ""), "comma-separated origins allowed to call with credentials (BACKPACK_CORS_ORIGINS)")
	fs.StringVar(&s.siteHost, "site-host", env("BACKPACK_SITE_HOST", ""), "with --embedded: the host name, localhost or under .localhost, of the site that calls this API; its http origins are allowed at any port, like localhost's (BACKPACK_SITE_HOST)")
	fs.StringVar(&s.filesDir, "files-dir", env("BACKPACK_FILES_DIR", ""), "directory for uploaded files; default DATA_DIR/files (BACKPACK_FILES_DIR)")
	fs.StringVar(&s.siteDir, "site-dir", env("BACKPACK_SITE_DIR", ""), "directory for the static site's releases, served from SITE_DIR/current; default DATA_DIR/site (BACKPACK_SITE_DIR)")
	fs.IntVar(&s.port, "port", env.Int("BACKPACK_PORT", 3000), "public port; 0 picks a free one, logged at start (BACKPACK_PORT)")
	fs.IntVar(&s.adminPort, "admin-port", env.Int("BACKPACK_ADMIN_PORT", 3001), "private admin port; 0 picks a free one (BACKPACK_ADMIN_PORT)")
	fs.Int64Var(&s.maxUpload, "max-upload-bytes", env.Int64("BACKPACK_MAX_UPLOAD_BYTES", coreapi.DefaultMaxUploadBytes), "largest accepted file upload (BACKPACK_MAX_UPLOAD_BYTES)")
	fs.Int64Var(&s.quotas.Collections, "quota-collections", env.Int64("BACKPACK_QUOTA_COLLECTIONS", coreapi.DefaultQuotaCollections), "collections end users may create; 0: unlimited; the admin settings override it (BACKPACK_QUOTA_COLLECTIONS)")
	fs.Int64Var(&s.quotas.FileBytes, "quota-file-bytes", env.Int64("BACKPACK_QUOTA_FILE_BYTES", coreapi.DefaultQuotaFileBytes), "total bytes of all users' files; 0: unlimited; the admin settings override it (BACKPACK_QUOTA_FILE_BYTES)")
	fs.Int64Var(&s.quotas.UserFileBytes, "quota-user-file-bytes", env.Int64("BACKPACK_QUOTA_USER_FILE_BYTES", coreapi.DefaultQuotaUserFileBytes), "total bytes of one user's files; 0: unlimited; the admin settings override it (BACKPACK_QUOTA_USER_FILE_BYTES)")
	fs.StringVar(&s.listenHost, "listen-host", env("BACKPACK_LISTEN_HOST", ""), "interface to listen on; empty means all (BACKPACK_LISTEN_HOST)")
	fs.StringVar(&s.adminHost, "admin-listen-host", env("BACKPACK_ADMIN_LISTEN_HOST", ""), "address or name the admin port binds; a name binds this host's address among those it resolves to (in a stack: the API's alias on the admin network); default: --listen-host (BACKPACK_ADMIN_LISTEN_HOST)")
	s.limits.register(fs, env)
	fs.StringVar(&s.trustedProxies, "trusted-proxies", env("BACKPACK_TRUSTED_PROXIES", ""), "comma-separated CIDRs or addresses of the reverse proxies in front (in a stack: backpack_public's subnet); X-Forwarded-For is believed from them only; empty trusts nobody (BACKPACK_TRUSTED_PROXIES)")
	flagenv.Throttle(fs, env, &s.throttle, "")
	flagenv.Drain(fs, env, &s.drain, flagenv.DefaultDrain)
	if err := fs.Parse(args); err != nil {
		return s, err
	}
	// The embedded server has no load balancer in front to drain from.
	if s.embedded && !flagenv.Given(fs, env, "drain", "BACKPACK_DRAIN") {
		s.drain = 0
	}
	if fs.NArg() > 0 {
		return s, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	switch {
	case s.port < 0 || s.port > 65535:
		return s, errors.New("BACKPACK_PORT / --port must be a port number (0: any free port)")
	case s.adminPort < 0 || s.adminPort > 65535:
		return s, errors.New("BACKPACK_ADMIN_PORT / --admin-port must be a port number (0: any free port)")
	case s.port != 0 && s.port == s.adminPort:
		return s, errors.New("the public and admin ports must differ")
	case s.apiKeyOverlap <= 0:
		return s, errors.New("BACKPACK_API_KEY_OVERLAP / --api-key-overlap must be a positive duration such as 10s")
	case s.maxUpload <= 0:
		return s, errors.New("BACKPACK_MAX_UPLOAD_BYTES / --max-upload-bytes must be a positive number of bytes")
	case s.quotas.Collections < 0 || s.quotas.FileBytes < 0 || s.quotas.UserFileBytes < 0:
		return s, errors.New("the quotas (BACKPACK_QUOTA_* / --quota-*) must be whole numbers, 0 meaning unlimited")
	}
	if err := flagenv.CheckThrottle(s.throttle); err != nil {
		return s, err
	}
	if err := flagenv.CheckDrain(s.drain); err != nil {
		return s, err
	}
	if err := s.limits.validate(); err != nil {
		return s, err
	}
	if _, err := httpapi.ParseTrustedProxies(flagenv.SplitList(s.trustedProxies)); err != nil {
		return s, fmt.Errorf("BACKPACK_TRUSTED_PROXIES / --trusted-proxies: %w", err)
	}
	switch s.engine {
	case "":
		s.engine = docstore.EngineSQLite
		if s.mongoURL != "" || !s.embedded {
			s.engine = docstore.EngineMongo
		}
	case docstore.EngineSQLite, docstore.EngineMongo:
	default:
		return s, fmt.Errorf("BACKPACK_DB_ENGINE / --engine must be %q or %q, not %q", docstore.EngineSQLite, docstore.EngineMongo, s.engine)
	}
	if s.engine == docstore.EngineMongo && s.mongoURL == "" {
		return s, errors.New("MONGO_URL (or --mongo-url) is required by the mongo engine; to try Backpack with no database server, run with --embedded")
	}
	if !s.embedded {
		if s.redisURL == "" {
			return s, errors.New("REDIS_URL (or --redis-url) is required; to try Backpack with no Redis, run with --embedded")
		}
		if s.apiKeyFile == "" || s.adminTokenFile == "" {
			return s, errors.New("BACKPACK_API_KEY_FILE and BACKPACK_ADMIN_TOKEN_FILE are required (in a stack they are Docker secrets)")
		}
	}
	if s.adminHost == "" {
		s.adminHost = s.listenHost
	}
	if s.filesDir == "" {
		s.filesDir = filepath.Join(s.dataDir, "files")
	}
	if s.siteDir == "" {
		s.siteDir = filepath.Join(s.dataDir, "site")
	}
	return s, nil
}

// shutdownGrace is how long in-flight requests get to finish after the drain.
const shutdownGrace = 20 * time.Second

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, log *slog.Logger) error {
	if len(args) > 0 && args[0] == "healthcheck" {
		return healthcheck.Run(ctx, "backpack-api", args[1:], getenv, 3000, "", "/readyz?scope="+coreapi.ScopeServing)
	}
	if len(args) > 0 && args[0] == volumepurge.Command {
		return purgeVolumes(ctx, args[1:], getenv, stdout)
	}
	s, err := parseSettings(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	eph := ephemeral.Store(nil)
	if s.embedded && s.redisURL == "" {
		eph = ephemeral.NewMemory()
	}
	if eph == nil {
		r, err := ephemeral.NewRedis(ctx, s.redisURL, "bkpk:")
		if err != nil {
			return fmt.Errorf("connect to Redis: %w", err)
		}
		eph = r
	}
	defer eph.Close()

	apiKey, err := readOrCreateSecret(s.apiKeyFile, s.embedded, filepath.Join(s.dataDir, "api-key"))
	if err != nil {
		return fmt.Errorf("API key: %w", err)
	}
	adminToken, err := readOrCreateSecret(s.adminTokenFile, s.embedded, filepath.Join(s.dataDir, "admin-token"))
	if err != nil {
		return fmt.Errorf("admin token: %w", err)
	}

	store, err := openStore(ctx, s, log)
	if err != nil {
		return err
	}
	defer func() { _ = store.Close(context.WithoutCancel(ctx)) }()

	cfg := coreapi.Config{
		APIKey: apiKey, AdminToken: adminToken, CORSOrigins: flagenv.SplitList(s.corsOrigins),
		FilesDir: s.filesDir, SiteDir: s.siteDir, MaxUploadBytes: s.maxUpload, Quotas: &s.quotas, Logger: log,
		APIKeyOverlap:        s.apiKeyOverlap,
		AllowLoopbackOrigins: s.embedded, SiteHost: s.siteHost, TrustedProxies: flagenv.SplitList(s.trustedProxies),
		Limits: s.throttle,
	}
	s.limits.apply(&cfg)
	api, err := coreapi.New(ctx, cfg, store, eph)
	if err != nil {
		return err
	}
	defer api.Close()
	return httpserve.Serve(ctx, log, httpserve.Shutdown{Drain: s.drain, Grace: shutdownGrace},
		httpserve.Listener{Name: "public", Addr: fmt.Sprintf("%s:%d", s.listenHost, s.port), Handler: api.Handler(),
			Listening: func(addr net.Addr) {
				if s.embedded {
					fmt.Fprintf(stdout, "Backpack API (embedded, %s engine) on http://localhost:%d\n  API key: %s (stored in %s)\n  data:    %s\n",
						s.engine, addr.(*net.TCPAddr).Port, apiKey, filepath.Join(s.dataDir, "api-key"), s.dataDir)
				}
			}},
		// The admin port binds the API's address on the admin network, which the alias
		// resolves to only once Swarm counts the task healthy: the public port comes first.
		httpserve.Listener{Name: "admin", Handler: api.AdminHandler(), Later: func(ctx context.Context) (string, error) {
			adminIP, err := adminListenIP(ctx, s.adminHost, systemResolver, adminHostTimeout)
			return net.JoinHostPort(adminIP, strconv.Itoa(s.adminPort)), err
		}},
	)
}

// openStore opens the configured engine. The sqlite engine first moves the data of a
// previous version's embedded FerretDB (DATA_DIR/db) into its file, once.
func openStore(ctx context.Context, s settings, log *slog.Logger) (docstore.Store, error) {
	limits := s.limits.storeLimits()
	if s.engine == docstore.EngineMongo {
		dbName, err := databaseName(s.mongoURL, s.database)
		if err != nil {
			return nil, err
		}
		return mongostore.Connect(ctx, s.mongoURL, dbName, limits)
	}
	open := func(ctx context.Context, path string) (docstore.Store, error) {
		return sqlitestore.Open(ctx, path, sqlitestore.Options{Limits: limits})
	}
	database := s.database
	if database == "" {
		database = "backpack"
	}
	if _, err := ferretimport.MigrateEmbedded(ctx, s.dataDir, database, open, log); err != nil {
		return nil, err
	}
	return open(ctx, filepath.Join(s.dataDir, ferretimport.StoreFile))
}

// readOrCreateSecret reads a secret file (trailing newline ignored). In embedded mode with no
// file given it keeps a generated secret in the data directory, so it survives restarts.
func readOrCreateSecret(file string, embedded bool, generated string) (string, error) {
	if file == "" && embedded {
		file = generated
		if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
			b := make([]byte, 24)
			_, _ = rand.Read(b)
			if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
				return "", err
			}
			if err := os.WriteFile(file, []byte(base64.RawURLEncoding.EncodeToString(b)+"\n"), 0o600); err != nil {
				return "", err
			}
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	v := strings.TrimSpace(string(b))
	if len(v) < 16 {
		return "", fmt.Errorf("%s holds %d characters; use at least 16", file, len(v))
	}
	return v, nil
}

func databaseName(mongoURL, override string) (string, error) {
	if override != "" {
		return override, nil
	}
	cs, err := connstring.ParseAndValidate(mongoURL)
	if err != nil {
		return "", fmt.Errorf("MONGO_URL: %w", err)
	}
	if cs.Database != "" {
		return cs.Database, nil
	}
	return "backpack", nil
}
