package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/backpackhq/backpack/coreapi"
	"github.com/backpackhq/backpack/internal/redisserver"
	"github.com/backpackhq/backpack/tools/credentials"
	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/docstore/mongostore"
	"github.com/backpackhq/backpack/tools/docstore/sqlitestore"
	"github.com/backpackhq/backpack/tools/embeddeddb"
	"github.com/backpackhq/backpack/tools/ephemeral"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// benchDatabase is the database the API serves during the benchmark.
const benchDatabase = "bench"

// environment is what one benchmark run talks to: a throw-away redis-server, FerretDB
// in-process and the API on a loopback port (more replicas of it on demand), all under one
// temporary directory.
type environment struct {
	// baseURL is the first API replica's, the one every scenario writes to; adminURL is its
	// admin port's, where the functions scenario deploys (with apiConfig.AdminToken).
	baseURL  string
	adminURL string
	apiKey   string
	db       *mongo.Database
	// client is db's connection to FerretDB, on which startBackend opens other databases;
	// dir is the temporary directory everything lives under.
	client *mongo.Client
	dir    string
	// setup describes the database and Redis for the report.
	setup string
	// closers stop what was started, in the order it was started.
	closers []func()

	// apiConfig and redisURL are what every API replica shares: the same key and admin
	// token, the same database and the same Redis.
	apiConfig coreapi.Config
	redisURL  string
	// replicas are the base URLs of the API replicas started so far; baseURL is the first.
	// adminURLs are their admin ports', in the same order.
	replicas  []string
	adminURLs []string
}

// startEnvironment starts everything, or nothing: on failure it stops what it had started.
func startEnvironment(ctx context.Context) (*environment, error) {
	env := &environment{}
	if err := env.start(ctx); err != nil {
		env.close()
		return nil, err
	}
	return env, nil
}

func (e *environment) start(ctx context.Context) error {
	redisBin, err := exec.LookPath("redis-server")
	if err != nil {
		return errors.New("redis-server not found: run scripts/test-env.sh")
	}
	dir, err := os.MkdirTemp("", "backpack-bench-")
	if err != nil {
		return err
	}
	e.closers = append(e.closers, func() { _ = os.RemoveAll(dir) })

	redisDir := filepath.Join(dir, "redis")
	if err := os.Mkdir(redisDir, 0o700); err != nil {
		return err
	}
	redisURL, stopRedis, err := redisserver.Start(ctx, redisBin, redisDir)
	if err != nil {
		return err
	}
	e.closers = append(e.closers, stopRedis)

	ferretLog := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	ferret, err := embeddeddb.Start(ctx, filepath.Join(dir, "db"), ferretLog)
	if err != nil {
		return err
	}
	e.closers = append(e.closers, ferret.Close)

	client, err := mongo.Connect(options.Client().ApplyURI(ferret.URI()))
	if err != nil {
		return fmt.Errorf("connect to FerretDB: %w", err)
	}
	e.closers = append(e.closers, func() { _ = client.Disconnect(context.Background()) })
	e.client, e.dir = client, dir
	e.db = client.Database(benchDatabase)

	e.redisURL = redisURL
	e.apiKey = rand.Text()
	e.apiConfig = coreapi.Config{
		APIKey:     e.apiKey,
		AdminToken: rand.Text(),
		FilesDir:   filepath.Join(dir, "files"),
		SiteDir:    filepath.Join(dir, "site"),
		// Every simulated client signs up from loopback: the sign-up throttle is not measured.
		Limits: credentials.Limits{RegistrationsPerAddress: 1 << 30},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	replicas, err := e.replicaURLs(ctx, 1)
	if err != nil {
		return err
	}
	e.baseURL, e.adminURL = replicas[0], e.adminURLs[0]

	e.setup = fmt.Sprintf("FerretDB %s (SQLite, in-process) · redis-server %s (loopback)",
		moduleVersion("github.com/FerretDB/FerretDB"), redisVersion(redisBin))
	return nil
}

// close stops everything started, newest first, and removes the temporary directory.
func (e *environment) close() {
	for _, stop := range slices.Backward(e.closers) {
		stop()
	}
	e.closers = nil
}

// backend is one more backend startBackend started beside the shared one; store is its
// document store, which the bench reads and writes directly to seed and count.
type backend struct {
	baseURL  string
	adminURL string
	store    docstore.Store
}

// startBackend starts a backend of its own beside the one every scenario shares, on engine
// (docstore.EngineMongo: its own database on the same FerretDB; docstore.EngineSQLite: its
// own database file), with its own files and site directories and its own Redis prefix, the
// shared API key and admin token and the quotas given. name tells them apart; close stops it.
func (e *environment) startBackend(ctx context.Context, name, engine string, quotas coreapi.Quotas) (backend, error) {
	dir := filepath.Join(e.dir, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return backend{}, err
	}
	var store docstore.Store
	switch engine {
	case docstore.EngineMongo:
		store = mongostore.New(e.client.Database(benchDatabase+"-"+name), docstore.Limits{})
	case docstore.EngineSQLite:
		s, err := sqlitestore.Open(ctx, filepath.Join(dir, "data.db"), sqlitestore.Options{})
		if err != nil {
			return backend{}, fmt.Errorf("open the database of %s: %w", name, err)
		}
		store = s
	default:
		return backend{}, fmt.Errorf("unknown engine %q", engine)
	}
	e.closers = append(e.closers, func() { _ = store.Close(context.Background()) })
	cfg := e.apiConfig
	cfg.FilesDir = filepath.Join(dir, "files")
	cfg.SiteDir = filepath.Join(dir, "site")
	cfg.Quotas = &quotas
	eph, err := ephemeral.NewRedis(ctx, e.redisURL, "bench-"+name+":")
	if err != nil {
		return backend{}, fmt.Errorf("connect to Redis: %w", err)
	}
	e.closers = append(e.closers, func() { _ = eph.Close() })
	baseURL, adminURL, stopAPI, err := startAPI(ctx, cfg, store, eph)
	if err != nil {
		return backend{}, fmt.Errorf("start backend %s: %w", name, err)
	}
	e.closers = append(e.closers, stopAPI)
	return backend{baseURL: baseURL, adminURL: adminURL, store: store}, nil
}

// replicaURLs returns the base URLs of n API replicas, starting those not running yet. Like
// separate processes, each replica has its own Redis connection, on the shared database and
// Redis. close stops them.
func (e *environment) replicaURLs(ctx context.Context, n int) ([]string, error) {
	for len(e.replicas) < n {
		eph, err := ephemeral.NewRedis(ctx, e.redisURL, "bench:")
		if err != nil {
			return nil, fmt.Errorf("connect to Redis: %w", err)
		}
		e.closers = append(e.closers, func() { _ = eph.Close() })
		baseURL, adminURL, stopAPI, err := startAPI(ctx, e.apiConfig, mongostore.New(e.db, docstore.Limits{}), eph)
		if err != nil {
			return nil, err
		}
		e.closers = append(e.closers, stopAPI)
		e.replicas = append(e.replicas, baseURL)
		e.adminURLs = append(e.adminURLs, adminURL)
	}
	return e.replicas[:n], nil
}

// startAPI serves the API's public handler and its admin handler on loopback ports and
// returns their base URLs and a function that shuts it down: the HTTP servers first, then the
// API replica (background work and websockets, which the HTTP servers' shutdown does not wait
// for).
func startAPI(ctx context.Context, cfg coreapi.Config, store docstore.Store, eph ephemeral.Store) (string, string, func(), error) {
	api, err := coreapi.New(ctx, cfg, store, eph)
	if err != nil {
		return "", "", nil, err
	}
	var servers []*http.Server
	stop := func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, srv := range servers {
			_ = srv.Shutdown(shutdownCtx)
		}
		api.Close()
	}
	var urls []string
	for _, h := range []http.Handler{api.Handler(), api.AdminHandler()} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			stop()
			return "", "", nil, err
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				cfg.Logger.Error("serve API", "err", err)
			}
		}()
		servers = append(servers, srv)
		urls = append(urls, "http://"+ln.Addr().String())
	}
	return urls[0], urls[1], stop, nil
}

// moduleVersion is the version of a module built into this binary.
func moduleVersion(path string) string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			if m.Path == path {
				return m.Version
			}
		}
	}
	return "(version unknown)"
}

// redisVersion asks redis-server for its version ("Redis server v=7.0.15 sha=…").
func redisVersion(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err == nil {
		for _, field := range strings.Fields(string(out)) {
			if v, ok := strings.CutPrefix(field, "v="); ok {
				return v
			}
		}
	}
	return "(version unknown)"
}
