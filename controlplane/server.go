package controlplane

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/backpackhq/backpack/controlplane/runtime"
	"github.com/backpackhq/backpack/controlplane/store"
	"github.com/backpackhq/backpack/tools/credentials"
	"github.com/backpackhq/backpack/tools/ephemeral"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/backpackhq/backpack/web/admin"
	"github.com/backpackhq/backpack/web/sdk"
	"github.com/labstack/echo/v4"
)

// Server is the control plane: its HTTP API and its reconciler. Several may share one store
// (see leader.go): all serve the API, and only the one holding the store's leader lock
// reconciles.
type Server struct {
	cfg        Config
	instance   string      // this process among those sharing the store, in its notices
	leading    atomic.Bool // whether this process holds the leader lock and reconciles
	log        *slog.Logger
	store      store.Store
	runtime    runtime.Runtime
	passwords  *credentials.Hasher
	throttle   credentials.Throttle
	bus        *bus
	signOuts   *signOuts
	reconciler *reconciler
	metrics    *metrics
	jobs       *jobs // backups and restores this process runs
	echo       *echo.Echo
	// lifetime ends with the context given to New: the reconciler and open event and log
	// streams stop with it, so shutdown does not wait on them.
	lifetime context.Context
	stop     context.CancelFunc
	done     sync.WaitGroup
}

// New checks the configuration, seeds the registration mode on first start, starts following
// the other control planes' notices and trying to lead (the leader's reconciler at once
// resumes any operation a previous leader left unfinished) and builds the router. It does not listen (see Handler); Close stops it.
func New(ctx context.Context, cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:       cfg,
		instance:  newID(),
		log:       cfg.Logger,
		store:     cfg.Store,
		runtime:   cfg.Runtime,
		passwords: credentials.NewHasher(),
		bus:       newBus(),
		signOuts:  newSignOuts(),
		metrics:   newMetrics(),
		jobs:      newJobs(),
	}
	// Each control plane counts sign-in and sign-up attempts in its own memory: only while two
	// run during an update may an address get up to twice its allowance.
	s.throttle = cfg.Limits.Throttle(ephemeral.NewMemory())
	if err := s.seedSettings(ctx); err != nil {
		return nil, err
	}
	s.lifetime, s.stop = context.WithCancel(ctx)
	s.reconciler = newReconciler(s)
	s.metrics.watchBackends(s.reconciler)
	s.metrics.watchLeader(&s.leading)
	s.done.Add(3)
	go func() {
		defer s.done.Done()
		s.store.Listen(s.lifetime, s.onNotice)
	}()
	go func() {
		defer s.done.Done()
		s.lead(s.lifetime)
	}()
	go func() {
		defer s.done.Done()
		s.sweepSessions(s.lifetime)
	}()
	s.echo = s.router()
	return s, nil
}

// Close stops the reconciler, waiting for operations in flight to reach a step they can be
// resumed from, gives up the leader lock (another control plane takes over within a second)
// and ends open streams. The store and runtime belong to the caller.
func (s *Server) Close() {
	s.stop()
	s.done.Wait()
	s.jobs.close()
}

func (s *Server) seedSettings(ctx context.Context) error {
	if _, err := s.store.Setting(ctx, store.SettingRegistration); err == nil {
		return nil
	} else if !isNotFound(err) {
		return fmt.Errorf("read settings: %w", err)
	}
	if err := s.store.SetSetting(ctx, store.SettingRegistration, string(s.cfg.Registration)); err != nil {
		return fmt.Errorf("seed registration mode: %w", err)
	}
	return nil
}

// Handler serves everything: admin.DOMAIN (and any host that is not a backend's) goes to the
// control plane's API; NAME-be.DOMAIN and NAME.DOMAIN go to that backend's API and site when
// the runtime serves backends in-process, and otherwise say why the backend is not answering.
func (s *Server) Handler() http.Handler {
	r, _ := s.runtime.(runtime.Router)
	return s.hostRouter(r)
}

func (s *Server) router() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	httpapi.HeadForGet(e)
	e.HTTPErrorHandler = httpapi.ErrorHandler(s.log, toAPIError)
	// X-Forwarded-For is believed from the configured proxies only (Traefik's network).
	e.IPExtractor = httpapi.ClientIP(s.cfg.trustedProxies)
	e.Use(httpapi.RequestID, httpapi.LogRequests(s.log), s.metrics.middleware, httpapi.RenderErrors, s.requireOwnHost, s.resolveSession)

	e.GET("/healthz", httpapi.Healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", s.serveMetrics)
	e.GET("/api/openapi.json", serveOpenAPI)
	for path := range sdk.Files {
		e.GET(path, echo.WrapHandler(sdk.Handler()))
	}
	panel := echo.WrapHandler(admin.Handler())
	for _, path := range admin.Pages {
		e.GET(path, panel)
		e.HEAD(path, panel)
	}

	api := e.Group("/api")
	api.POST("/auth/register", s.register)
	api.POST("/auth/login", s.login)
	api.POST("/auth/logout", s.logout, s.requireDeveloper)
	api.GET("/auth/me", s.me, s.requireDeveloper)

	// Routes take their middleware one by one: a group with middleware would also catch every
	// unknown path and method under it, answering "operator only" or 404 instead of 405.
	operator := []echo.MiddlewareFunc{s.requireDeveloper, s.requireOperator}
	api.GET("/settings", s.getSettings, operator...)
	api.PATCH("/settings", s.patchSettings, operator...)
	api.GET("/invites", s.listInvites, operator...)
	api.POST("/invites", s.createInvite, operator...)
	api.DELETE("/invites/:id", s.deleteInvite, operator...)
	api.GET("/developers", s.listDevelopers, operator...)

	api.GET("/events", s.streamBackends, s.requireDeveloper)
	b, dev := api.Group("/backends"), s.requireDeveloper
	b.GET("", s.listBackends, dev)
	b.POST("", s.createBackend, dev)
	b.GET("/:name", s.getBackend, dev)
	b.PATCH("/:name", s.patchBackend, dev)
	b.DELETE("/:name", s.deleteBackend, dev)
	b.POST("/:name/backups", s.createBackup, dev)
	b.GET("/:name/backups", s.listBackups, dev)
	b.GET("/:name/backups/:id", s.downloadBackup, dev)
	b.DELETE("/:name/backups/:id", s.deleteBackupHandler, dev)
	b.POST("/:name/restore", s.restoreBackend, dev)
	b.GET("/:name/events", s.streamEvents, dev)
	b.GET("/:name/logs", s.streamLogs, dev)
	b.POST("/:name/site", s.uploadSite, dev)
	b.POST("/:name/api-key", s.rotateAPIKey, dev)
	b.Any("/:name/admin", s.proxyAdmin, dev)
	b.Any("/:name/admin/*", s.proxyAdmin, dev)
	return e
}
