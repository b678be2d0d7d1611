package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/backpackhq/backpack/controlplane/runtime"
	"github.com/backpackhq/backpack/coreapi"
	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/docstore/ferretimport"
	"github.com/backpackhq/backpack/tools/ephemeral"
)

// shutdownGrace is how long in-flight admin requests get to finish when a backend stops.
const shutdownGrace = 5 * time.Second

// instance is one running backend: its coreapi, the loopback listener of its admin port, and
// the site handler the control plane routes to.
type instance struct {
	spec   runtime.Spec
	api    *coreapi.Server
	store  docstore.Store
	eph    ephemeral.Store
	admin  *http.Server
	addr   string // host:port of the admin listener
	site   *siteHandler
	logs   *backendLogs
	served chan struct{} // closed when the admin server's Serve returns
}

// backendDir holds everything of a backend on disk: its database file, files/ and site/.
func (r *Runtime) backendDir(name string) string {
	return filepath.Join(r.dataDir, "backends", name)
}

// start brings up a backend's API and its admin listener; logs are the backend's rings, kept
// from an earlier instance when it restarts.
func (r *Runtime) start(ctx context.Context, spec runtime.Spec, logs *backendLogs, progress runtime.Progress) (*instance, error) {
	dir := r.backendDir(spec.Name)
	filesDir, siteDir := filepath.Join(dir, "files"), filepath.Join(dir, "site")
	for _, d := range []string{filesDir, siteDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory of %s: %w", spec.Name, err)
		}
	}
	progress("opening database " + filepath.Join("backends", spec.Name, ferretimport.StoreFile))
	store, err := r.openStore(ctx, filepath.Join(dir, ferretimport.StoreFile))
	if err != nil {
		return nil, fmt.Errorf("open database of %s: %w", spec.Name, err)
	}
	closeStore := func() { _ = store.Close(context.WithoutCancel(ctx)) }
	eph, err := r.ephemeralStore(ctx, spec.Name)
	if err != nil {
		closeStore()
		return nil, err
	}
	api, err := coreapi.New(ctx, coreapi.Config{
		APIKey:               spec.APIKey,
		AdminToken:           spec.AdminToken,
		CORSOrigins:          slices.Clone(spec.CORSOrigins),
		AllowLoopbackOrigins: r.cfg.AllowLoopbackOrigins,
		TrustedProxies:       slices.Clone(r.cfg.TrustedProxies),
		SiteHost:             r.siteHost(spec.Name),
		FilesDir:             filesDir,
		SiteDir:              siteDir,
		Logger:               apiLogger(spec.Name, logs.api, r.log),
	}, store, eph)
	if err != nil {
		_ = eph.Close()
		closeStore()
		return nil, fmt.Errorf("start api of %s: %w", spec.Name, err)
	}
	progress("starting api")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		api.Close()
		_ = eph.Close()
		closeStore()
		return nil, fmt.Errorf("listen for the admin port of %s: %w", spec.Name, err)
	}
	inst := &instance{
		spec: spec, api: api, store: store, eph: eph, addr: ln.Addr().String(), logs: logs,
		site:   newSiteHandler(spec.Name, siteDir, logs.web),
		served: make(chan struct{}),
		admin: &http.Server{
			Handler:           api.AdminHandler(),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          slog.NewLogLogger(r.log.Handler().WithAttrs([]slog.Attr{slog.String("backend", spec.Name)}), slog.LevelWarn),
		},
	}
	go func() {
		defer close(inst.served)
		if err := inst.admin.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			r.log.Error("admin port stopped serving", "backend", spec.Name, "err", err)
		}
	}()
	if err := inst.ready(ctx); err != nil {
		inst.stop()
		return nil, fmt.Errorf("start api of %s: %w", spec.Name, err)
	}
	progress("api ready")
	return inst, nil
}

// siteHost is the backend's site on this machine, whose origins its API trusts at any port
// alongside plain localhost ones; "" when loopback origins are not allowed at all.
func (r *Runtime) siteHost(name string) string {
	if !r.cfg.AllowLoopbackOrigins {
		return ""
	}
	return name + ".localhost"
}

// ephemeralStore is where a backend keeps end users' sessions, login counters and pub/sub:
// in memory by default (signed-in users sign in again after a restart), or in the Redis
// configured, under the backend's own prefix, so sessions survive restarts.
func (r *Runtime) ephemeralStore(ctx context.Context, name string) (ephemeral.Store, error) {
	if r.cfg.RedisURL == "" {
		return ephemeral.NewMemory(), nil
	}
	eph, err := ephemeral.NewRedis(ctx, r.cfg.RedisURL, redisPrefix(name))
	if err != nil {
		return nil, fmt.Errorf("connect %s to Redis: %w", name, err)
	}
	return eph, nil
}

// redisPrefix is where a backend's keys live in the shared Redis. Backend names hold no ':',
// so no backend's prefix starts another's.
func redisPrefix(name string) string { return "bkpk:" + name + ":" }

// purgeEphemeral removes everything a purged backend kept in the shared Redis (end users'
// sessions, login counters), so none of it outlives the backend: a backend created later
// under the same name starts with nothing. In memory there is nothing left once it stopped.
func (r *Runtime) purgeEphemeral(ctx context.Context, name string) error {
	if r.cfg.RedisURL == "" {
		return nil
	}
	eph, err := ephemeral.NewRedis(ctx, r.cfg.RedisURL, redisPrefix(name))
	if err != nil {
		return fmt.Errorf("connect %s to Redis: %w", name, err)
	}
	defer eph.Close()
	return eph.DeleteAll(ctx)
}

// ready asks the API's readiness check, in-process, whether its database and ephemeral store
// answer. The check is on the public handler and needs no key.
func (inst *instance) ready(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/readyz", nil)
	if err != nil {
		return fmt.Errorf("readiness check: %w", err)
	}
	req.RemoteAddr = "127.0.0.1:0"
	w := &statusOnly{header: http.Header{}}
	inst.api.Handler().ServeHTTP(w, req)
	if w.status != http.StatusOK {
		return fmt.Errorf("readiness check answered %d", w.status)
	}
	return nil
}

// stop shuts the admin port down gracefully, then the API (which closes its websockets), its
// ephemeral store and its database. The log rings are left to the caller: a restart keeps
// them.
func (inst *instance) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := inst.admin.Shutdown(ctx); err != nil {
		_ = inst.admin.Close()
	}
	<-inst.served
	inst.api.Close()
	_ = inst.eph.Close()
	_ = inst.store.Close(ctx)
}

// statusOnly is a ResponseWriter that keeps the status and discards the body.
type statusOnly struct {
	header http.Header
	status int
}

func (s *statusOnly) Header() http.Header { return s.header }

func (s *statusOnly) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
}

func (s *statusOnly) Write(p []byte) (int, error) {
	s.WriteHeader(http.StatusOK)
	return len(p), nil
}

// sameSpec reports whether a running instance already matches spec, so Apply can leave it.
func sameSpec(a, b runtime.Spec) bool {
	return a.Name == b.Name && a.APIKey == b.APIKey && a.AdminToken == b.AdminToken &&
		slices.Equal(a.CORSOrigins, b.CORSOrigins)
}
