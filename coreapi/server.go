package coreapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/backpackhq/backpack/tools/credentials"
	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/ephemeral"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/backpackhq/backpack/tools/siterelease"
	"github.com/backpackhq/backpack/web/sdk"
	"github.com/labstack/echo/v4"
)

// Server is one replica of a backend's API. It is safe to run several replicas, in one process
// or many, against the same database and ephemeral store.
type Server struct {
	cfg          Config
	log          *slog.Logger
	store        docstore.Store
	eph          ephemeral.Store
	collections  *collectionRegistry
	users        *userStore
	liveUsers    *userExistence
	incarnation  string // of the database, binding sessions to it; see loadIncarnation
	files        *fileStore
	site         *siterelease.Store
	passwords    *credentials.Hasher
	metrics      *metrics
	settings     *liveSettings
	locks        dbLocks
	adminToken   *secret
	hub          *hub
	public       *echo.Echo
	admin        *echo.Echo
	started      time.Time
	settingsKick chan struct{}
	// lifetime ends when Close is called: background work and open websockets stop with it.
	lifetime context.Context
	stop     context.CancelFunc
	stopped  sync.WaitGroup
}

// New prepares a replica: it checks the configuration, makes sure the database has the
// indexes the API relies on, loads the runtime settings, subscribes to the other replicas'
// events and builds both routers. It does not listen (see Handler and AdminHandler); Close
// stops it.
func New(ctx context.Context, cfg Config, store docstore.Store, eph ephemeral.Store) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	files, err := newFileStore(cfg.FilesDir, store)
	if err != nil {
		return nil, err
	}
	site, err := siterelease.Open(cfg.SiteDir, siterelease.Limits{MaxArchiveBytes: cfg.MaxSiteBytes})
	if err != nil {
		_ = files.close()
		return nil, fmt.Errorf("site dir: %w", err)
	}
	s := &Server{
		cfg:          cfg,
		log:          cfg.Logger,
		store:        store,
		eph:          eph,
		collections:  newCollectionRegistry(store),
		users:        newUserStore(store),
		liveUsers:    newUserExistence(),
		files:        files,
		site:         site,
		passwords:    credentials.NewHasher(),
		metrics:      newMetrics(),
		settings:     newLiveSettings(store, cfg),
		locks:        dbLocks{coll: store.Collection(metaLocks)},
		adminToken:   newSecret(cfg.AdminToken),
		hub:          newHub(),
		started:      time.Now(),
		settingsKick: make(chan struct{}, 1),
	}
	s.metrics.watchConnections(s.hub)
	if err := s.ensureIndexes(ctx); err != nil {
		_ = files.close()
		return nil, err
	}
	if s.incarnation, err = loadIncarnation(ctx, store); err != nil {
		_ = files.close()
		return nil, fmt.Errorf("prepare database: %w", err)
	}
	if err := s.settings.reload(ctx); err != nil {
		_ = files.close()
		return nil, err
	}
	sub, err := eph.Subscribe(context.WithoutCancel(ctx), eventsChannel)
	if err != nil {
		_ = files.close()
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
	_ = s.files.close()
}

func (s *Server) ensureIndexes(ctx context.Context) error {
	for _, step := range []func(context.Context) error{s.users.ensureIndexes, s.files.ensureIndexes} {
		if err := step(ctx); err != nil {
			return fmt.Errorf("prepare database: %w", err)
		}
	}
	return nil
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
	e.Use(s.cors(), s.requireAPIKey, s.limitBody, s.resolveSession)

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
