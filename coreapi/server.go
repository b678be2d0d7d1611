package coreapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/functions"
	"github.com/backpackhq/backpack/tools/credentials"
	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/ephemeral"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/backpackhq/backpack/tools/jsfunc"
	"github.com/backpackhq/backpack/tools/jsondoc"
	"github.com/backpackhq/backpack/tools/siterelease"
	"github.com/backpackhq/backpack/web/sdk"
	"github.com/labstack/echo/v4"
)

// Server is one replica of a backend's API: the HTTP and websocket edge over the data
// service. It is safe to run several replicas, in one process or many, against the same
// database and ephemeral store.
type Server struct {
	cfg        Config
	log        *slog.Logger
	data       *core.Service
	eph        ephemeral.Store
	site       *siterelease.Store
	passwords  *credentials.Hasher
	metrics    *metrics
	adminToken *core.Secret
	hub        *hub
	functions  *functions.Runtime
	public     *echo.Echo
	admin      *echo.Echo
	started    time.Time
	// reached is set once both stores have answered a readiness check (see readyz).
	reached      atomic.Bool
	settingsKick chan struct{}
	// lifetime ends when Close is called: background work and open websockets stop with it.
	lifetime context.Context
	stop     context.CancelFunc
	stopped  sync.WaitGroup
}

// New prepares a replica: it checks the configuration, opens the data service (which makes
// sure the database has the indexes it relies on and loads the runtime settings), subscribes
// to the other replicas' events and builds both routers. It does not listen (see Handler and
// AdminHandler); Close stops it.
func New(ctx context.Context, cfg Config, store docstore.Store, eph ephemeral.Store) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	site, err := siterelease.Open(cfg.SiteDir, siterelease.Limits{MaxArchiveBytes: cfg.MaxSiteBytes})
	if err != nil {
		return nil, fmt.Errorf("site dir: %w", err)
	}
	svc, err := core.Open(ctx, core.Config{
		FilesDir: cfg.FilesDir, APIKey: cfg.APIKey, APIKeyOverlap: cfg.APIKeyOverlap,
		CORSOrigins: cfg.CORSOrigins, AllowLoopbackOrigins: cfg.AllowLoopbackOrigins, SiteHost: cfg.SiteHost,
		Quotas:         *cfg.Quotas,
		DocumentLimits: jsondoc.Limits{MaxKeys: cfg.MaxDocumentKeys, MaxNodes: cfg.MaxDocumentNodes},
		Logger:         cfg.Logger,
	}, store, eph)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:          cfg,
		log:          cfg.Logger,
		data:         svc,
		eph:          eph,
		site:         site,
		passwords:    credentials.NewHasher(),
		metrics:      newMetrics(),
		adminToken:   core.NewSecret(cfg.AdminToken),
		hub:          newHub(),
		started:      time.Now(),
		settingsKick: make(chan struct{}, 1),
	}
	s.functions, err = functions.New(ctx, svc, functions.Config{
		Pool:       jsfunc.NewPool(jsfunc.PoolConfig{Workers: cfg.FunctionWorkers, MemoryLimit: cfg.FunctionMemoryBytes, Logger: cfg.Logger}),
		ErrorOf:    functionSees,
		Observe:    s.metrics.observeFunction,
		FetchHosts: svc.Settings().FetchHosts,
		Logger:     cfg.Logger,
	})
	if err != nil {
		_ = svc.Close()
		return nil, fmt.Errorf("load functions: %w", err)
	}
	svc.SetHooks(s.functions)
	s.metrics.watchConnections(s.hub)
	s.metrics.watchKeyReloads(s.data.Settings())
	sub, err := svc.Subscribe(context.WithoutCancel(ctx))
	if err != nil {
		s.functions.Close()
		_ = svc.Close()
		return nil, fmt.Errorf("subscribe to events: %w", err)
	}
	s.lifetime, s.stop = context.WithCancel(context.WithoutCancel(ctx))
	s.stopped.Add(2)
	go func() {
		defer s.stopped.Done()
		s.receiveEvents(sub)
	}()
	go func() {
		defer s.stopped.Done()
		s.watchSettings(s.lifetime, s.settingsKick)
	}()
	context.AfterFunc(s.lifetime, func() { _ = sub.Close() })
	s.public = s.publicRouter()
	s.admin = s.adminRouter()
	return s, nil
}

// Close stops the replica's background work and closes its websocket connections (with
// "going away", so clients reconnect elsewhere). Call it after the HTTP servers have shut down.
func (s *Server) Close() {
	s.stop()
	s.hub.closeAll()
	s.stopped.Wait()
	s.functions.Close()
	_ = s.data.Close()
}

// Handler serves the public port: collections, auth, files.
func (s *Server) Handler() http.Handler { return s.public }

// AdminHandler serves the private admin port.
func (s *Server) AdminHandler() http.Handler { return s.admin }

func (s *Server) newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	httpapi.HeadForGet(e)
	e.HTTPErrorHandler = s.httpErrorHandler
	// X-Forwarded-For is believed from the configured proxies only (Traefik's network in a
	// stack), so the throttles count real client addresses and a client cannot pick its own.
	e.IPExtractor = httpapi.ClientIP(s.cfg.trustedProxies)
	e.Use(httpapi.RequestID, httpapi.LogRequests(s.log), s.metrics.requests.Middleware, httpapi.RenderErrors, s.boundQueries)
	return e
}

func (s *Server) publicRouter() *echo.Echo {
	e := s.newEcho()
	e.Use(s.cors(), s.requireAPIKey, s.limitBody, s.refuseWhileRestoring, s.resolveSession)

	e.GET("/healthz", httpapi.Healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/openapi.json", serveOpenAPI)
	for path := range sdk.Files {
		e.GET(path, echo.WrapHandler(sdk.Handler()))
	}

	e.POST("/auth/register", s.register)
	e.POST("/auth/login", s.login)
	e.POST("/auth/token", s.token)
	e.POST("/auth/logout", s.logout)
	e.GET("/auth/me", s.me)

	e.GET("/ws", s.handleWS)

	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		e.Add(method, "/fn/:name", s.handleCallFunction)
		e.Add(method, "/fn/:name/*", s.handleCallFunction)
	}

	e.GET("/collections", s.handleListCollections)
	e.POST("/collections", s.handleCreateCollection)

	e.POST("/files", s.uploadFile)
	e.GET("/files", s.listFiles)
	e.GET("/files/:userId/:filename", s.getFile)
	e.PATCH("/files/:filename", s.updateFile)
	e.PUT("/files/:filename", s.overwriteFile)
	e.DELETE("/files/:filename", s.deleteFile)

	e.GET("/:collection", s.handleListDocuments)
	e.POST("/:collection", s.handleCreateDocument)
	e.GET("/:collection/:id", s.handleGetDocument)
	e.PUT("/:collection/:id", s.handleReplaceDocument)
	e.PATCH("/:collection/:id", s.handlePatchDocument)
	e.DELETE("/:collection/:id", s.handleDeleteDocument)
	return e
}
