// Package embeddeddb runs FerretDB v1 in-process on SQLite, so that the embedded default and the
// tests talk to a real server over the real Mongo wire protocol without any external process.
// The test image that stands in for mongo (internal/cmd/mongo-standin) serves it on a network
// address with StartAt.
package embeddeddb

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// Server is a running in-process FerretDB listening on a TCP port.
type Server struct {
	uri    string
	cancel context.CancelFunc
	done   chan struct{}
}

// Start opens (or creates) the SQLite databases under dir and serves them on 127.0.0.1 at a free
// port. The server stops when Close is called or ctx ends.
func Start(ctx context.Context, dir string, logger *slog.Logger) (*Server, error) {
	return StartAt(ctx, "127.0.0.1:0", dir, logger)
}

// StartAt is Start serving on addr, a host:port to listen on (port 0 picks a free one).
func StartAt(ctx context.Context, addr, dir string, logger *slog.Logger) (*Server, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("embedded database dir %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("embedded database dir: %w", err)
	}
	if logger == nil {
		logger = slog.Default()
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: addr},
		Logger:    logger.With("component", "ferretdb"),
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/",
	})
	if err != nil {
		return nil, fmt.Errorf("start embedded database: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &Server{uri: f.MongoDBURI(), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		_ = f.Run(runCtx)
	}()
	go func() {
		select {
		case <-ctx.Done():
			cancel()
		case <-s.done:
		}
	}()
	return s, nil
}

// URI is the mongodb:// address clients connect to.
func (s *Server) URI() string { return s.uri }

// Close stops the server and waits until it has released its databases.
func (s *Server) Close() {
	s.cancel()
	<-s.done
}
