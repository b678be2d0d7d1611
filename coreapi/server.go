package coreapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/backpackhq/backpack/tools/ephemeral"
	"github.com/labstack/echo/v4"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// Server is one replica of a backend's API. It is safe to run several replicas, in one process
// or many, against the same database and ephemeral store.
type Server struct {
	cfg         Config
	log         *slog.Logger
	db          *mongo.Database
	eph         ephemeral.Store
	collections *collectionRegistry
	users       *userStore
	files       *fileStore
	passwords   *passwordHasher
	metrics     *metrics
	apiKey      *secret
	adminToken  *secret
	public      *echo.Echo
	admin       *echo.Echo
	started     time.Time
}

// New prepares a replica: it checks the configuration, makes sure the database has the
// indexes the API relies on, and builds both routers. It does not listen; see Handler,
// AdminHandler and Serve.
func New(ctx context.Context, cfg Config, db *mongo.Database, eph ephemeral.Store) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	files, err := newFileStore(cfg.FilesDir, db)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:         cfg,
		log:         cfg.Logger,
		db:          db,
		eph:         eph,
		collections: newCollectionRegistry(db),
		users:       newUserStore(db),
		files:       files,
		passwords:   newPasswordHasher(),
		metrics:     newMetrics(),
		apiKey:      newSecret(cfg.APIKey),
		adminToken:  newSecret(cfg.AdminToken),
		started:     time.Now(),
	}
	if err := s.ensureIndexes(ctx); err != nil {
		return nil, err
	}
	s.public = s.publicRouter()
	s.admin = s.adminRouter()
	return s, nil
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
	e.HTTPErrorHandler = s.httpErrorHandler
	// Traefik and the control plane sit in front on private networks; trust their
	// X-Forwarded-For so login throttling counts real client addresses.
	e.IPExtractor = echo.ExtractIPFromXFFHeader(echo.TrustLoopback(true), echo.TrustPrivateNet(true))
	e.Use(requestID, s.logRequests, s.metrics.middleware, renderErrors)
	return e
}

func (s *Server) publicRouter() *echo.Echo {
	e := s.newEcho()
	e.Use(s.cors(), s.requireAPIKey, s.limitBody, s.resolveSession)

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/openapi.json", serveOpenAPI)

	e.POST("/auth/register", s.register)
	e.POST("/auth/login", s.login)
	e.POST("/auth/token", s.token)
	e.POST("/auth/logout", s.logout)
	e.GET("/auth/me", s.me)

	e.GET("/collections", s.listCollections)
	e.POST("/collections", s.createCollection)

	e.POST("/files", s.uploadFile)
	e.GET("/files", s.listFiles)
	e.GET("/files/:userId/:filename", s.getFile)
	e.PATCH("/files/:filename", s.updateFile)
	e.PUT("/files/:filename", s.overwriteFile)
	e.DELETE("/files/:filename", s.deleteFile)

	e.GET("/:collection", s.listDocuments)
	e.POST("/:collection", s.createDocument)
	e.GET("/:collection/:id", s.getDocument)
	e.PUT("/:collection/:id", s.replaceDocument)
	e.PATCH("/:collection/:id", s.patchDocument)
	e.DELETE("/:collection/:id", s.deleteDocument)
	return e
}

func (s *Server) adminRouter() *echo.Echo {
	e := s.newEcho()
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", s.metrics.handler(), s.requireAdminToken)
	return e
}
