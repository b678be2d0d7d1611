package core

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/ephemeral"
	"github.com/backpackhq/backpack/tools/jsondoc"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Config is what the service needs to know of the backend it serves.
type Config struct {
	// FilesDir holds uploaded files, one directory per user.
	FilesDir string
	// APIKey is the configured API key, in force until it is rotated at runtime.
	APIKey string
	// CORSOrigins, AllowLoopbackOrigins and SiteHost say which browser origins may call the
	// backend until the runtime settings change the list (see Settings.OriginAllowed).
	CORSOrigins          []string
	AllowLoopbackOrigins bool
	SiteHost             string
	// Quotas are the configured quotas, until the runtime settings override them.
	Quotas Quotas
	// APIKeyOverlap is how long the key in force before a rotation keeps working after it
	// (default DefaultAPIKeyOverlap), unless the rotation revokes it.
	APIKeyOverlap time.Duration
	// DocumentLimits bound the complexity of every stored client document (MaxKeys, MaxNodes).
	DocumentLimits jsondoc.Limits
	// Logger receives what goes wrong after the answer is given (an event not published).
	Logger *slog.Logger
}

// Service is one replica's access to a backend's data. Several replicas, in one process or
// many, may serve the same database and ephemeral store.
type Service struct {
	cfg         Config
	log         *slog.Logger
	store       docstore.Store
	eph         ephemeral.Store
	collections *registry
	users       *userStore
	liveUsers   *userExistence
	files       *fileStore
	settings    *Settings
	locks       dbLocks
	incarnation atomic.Pointer[string] // of the database, binding sessions to it; see loadIncarnation
	hooks       WriteHooks
	restore     restoreView
}

// Open prepares the service: the files directory, the indexes the service relies on, the
// database's incarnation and the runtime settings. Close releases the files directory.
func Open(ctx context.Context, cfg Config, store docstore.Store, eph ephemeral.Store) (*Service, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	files, err := newFileStore(cfg.FilesDir, store)
	if err != nil {
		return nil, err
	}
	s := &Service{
		cfg:         cfg,
		log:         cfg.Logger,
		store:       store,
		eph:         eph,
		collections: newRegistry(store),
		users:       newUserStore(store),
		liveUsers:   newUserExistence(),
		files:       files,
		settings:    newSettings(store, cfg),
		locks:       dbLocks{coll: store.Collection(metaLocks)},
	}
	if err := s.prepare(ctx); err != nil {
		_ = files.close()
		return nil, err
	}
	return s, nil
}

func (s *Service) prepare(ctx context.Context) error {
	for _, step := range []func(context.Context) error{s.users.ensureIndexes, s.files.ensureIndexes, s.ensureFunctionLogIndex} {
		if err := step(ctx); err != nil {
			return fmt.Errorf("prepare database: %w", err)
		}
	}
	inc, err := loadIncarnation(ctx, s.store)
	if err != nil {
		return fmt.Errorf("prepare database: %w", err)
	}
	s.incarnation.Store(&inc)
	return s.settings.Reload(ctx)
}

// Close releases the files directory; the local runtime starts and stops many backends in one
// process, so nothing may stay open after a replica closes.
func (s *Service) Close() error { return s.files.close() }

// Ping tells whether the database answers.
func (s *Service) Ping(ctx context.Context) error { return s.store.Ping(ctx) }

// Engine names the database engine (docstore.EngineMongo or docstore.EngineSQLite).
func (s *Service) Engine() string { return s.store.Engine() }

// Incarnation is the database's incarnation (see loadIncarnation).
func (s *Service) Incarnation() string { return *s.incarnation.Load() }

// Settings are the runtime settings this replica applies.
func (s *Service) Settings() *Settings { return s.settings }

// Counts are the numbers of users, collections and files, for the admin API's overview.
func (s *Service) Counts(ctx context.Context) (map[string]int, error) {
	counts := map[string]int{}
	for name, coll := range map[string]string{"users": metaUsers, "collections": metaCollections, "files": metaFiles} {
		n, err := s.store.Collection(coll).Count(ctx, bson.D{})
		if err != nil {
			return nil, fmt.Errorf("count %s: %w", name, err)
		}
		counts[name] = int(n)
	}
	return counts, nil
}
