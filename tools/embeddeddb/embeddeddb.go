// Package embeddeddb runs FerretDB v1 in-process on SQLite: the stand-in for mongo:7 that the
// mongo engine's tests and the mongo stand-in test image talk to, over the real Mongo wire
// protocol, with no external process. No shipped binary uses it (the embedded default runs
// the sqlite engine).
//
// FerretDB has no authentication here, so Start serves it on a Unix socket that only the
// process's user can reach (mode 0600 in a 0700 directory) and never on TCP, where any local
// process could read every backend's data. Its SQLite files are created 0600 too. The test
// image that stands in for mongo (internal/cmd/mongo-standin) serves it on a network address
// with StartAt.
package embeddeddb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// SocketName is the name of the Unix socket Start serves on, in the database directory. The
// mongo driver only takes a host ending in ".sock" for a socket path.
const SocketName = "ferretdb.sock"

// modeFile is an empty 0600 file in the database directory whose mode SQLite gives every
// database file FerretDB creates (SQLite's modeof URI parameter); SQLite's own default is 0644.
const modeFile = "filemode"

// maxSocketPath is the longest socket path Start uses in the database directory: a Unix socket
// address holds 108 bytes on Linux and 104 on macOS, including the final NUL. A longer path
// moves the socket to a private directory under the system's temporary directory.
const maxSocketPath = 100

// Server is a running in-process FerretDB.
type Server struct {
	uri     string
	tempDir string // the private directory holding the socket when the data dir's path is too long
	cancel  context.CancelFunc
	done    chan struct{}
}

// Start opens (or creates) the SQLite databases under dir and serves them on a Unix socket,
// dir/ferretdb.sock (or one in a private temporary directory when that path is too long for
// a socket address). The server stops when Close is called or ctx ends.
func Start(ctx context.Context, dir string, logger *slog.Logger) (*Server, error) {
	abs, err := prepareDir(dir, true)
	if err != nil {
		return nil, err
	}
	sock, tempDir, err := socketPath(abs)
	if err != nil {
		return nil, err
	}
	s, err := start(ctx, ferretdb.ListenerConfig{Unix: sock}, abs, logger)
	if err != nil {
		if tempDir != "" {
			_ = os.RemoveAll(tempDir)
		}
		return nil, err
	}
	s.tempDir = tempDir
	// The directory already keeps others out; the socket's own mode is a second fence (on
	// Linux, connecting needs write permission on it).
	if err := os.Chmod(sock, 0o600); err != nil {
		s.Close()
		return nil, fmt.Errorf("embedded database socket: %w", err)
	}
	return s, nil
}

// StartAt serves the databases under dir on addr, a host:port to listen on (port 0 picks a
// free one), to anyone who reaches it: only for the mongo stand-in test image, never for the
// embedded default.
func StartAt(ctx context.Context, addr, dir string, logger *slog.Logger) (*Server, error) {
	abs, err := prepareDir(dir, false)
	if err != nil {
		return nil, err
	}
	return start(ctx, ferretdb.ListenerConfig{TCP: addr}, abs, logger)
}

// prepareDir creates dir (mode 0700) with the mode file in it, narrows an existing dir to 0700
// if asked, and returns its absolute path. The mongo stand-in, which serves the network anyway,
// leaves the mode of the volume it is given alone.
func prepareDir(dir string, narrow bool) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("embedded database dir %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", fmt.Errorf("embedded database dir: %w", err)
	}
	if narrow {
		if err := os.Chmod(abs, 0o700); err != nil {
			return "", fmt.Errorf("embedded database dir: %w", err)
		}
	}
	f, err := os.OpenFile(filepath.Join(abs, modeFile), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return "", fmt.Errorf("embedded database dir: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("embedded database dir: %w", err)
	}
	if err := os.Chmod(filepath.Join(abs, modeFile), 0o600); err != nil {
		return "", fmt.Errorf("embedded database dir: %w", err)
	}
	return abs, nil
}

// socketPath returns where to serve the socket for the database directory abs: in it when the
// path fits a socket address, else in a new private temporary directory (returned as tempDir,
// for Close to remove). A socket file left behind by a process that died is removed; one that
// answers means another process serves the same directory.
func socketPath(abs string) (sock, tempDir string, err error) {
	sock = filepath.Join(abs, SocketName)
	if len(sock) > maxSocketPath {
		tempDir, err = os.MkdirTemp("", "backpack-db-")
		if err != nil {
			return "", "", fmt.Errorf("embedded database socket: %w", err)
		}
		sock = filepath.Join(tempDir, SocketName)
		if len(sock) > maxSocketPath {
			_ = os.RemoveAll(tempDir)
			return "", "", fmt.Errorf("embedded database socket: both %s and %s are longer than a Unix socket address (%d bytes); use a shorter data directory or TMPDIR",
				filepath.Join(abs, SocketName), sock, maxSocketPath)
		}
		return sock, tempDir, nil
	}
	fi, err := os.Lstat(sock)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return sock, "", nil
	case err != nil:
		return "", "", fmt.Errorf("embedded database socket: %w", err)
	case fi.Mode().Type() != os.ModeSocket:
		return "", "", fmt.Errorf("embedded database socket: %s exists and is not a socket", sock)
	}
	if c, err := net.DialTimeout("unix", sock, time.Second); err == nil {
		_ = c.Close()
		return "", "", fmt.Errorf("embedded database: %s is served by another process; is another Backpack running on this data directory?", sock)
	}
	if err := os.Remove(sock); err != nil {
		return "", "", fmt.Errorf("embedded database socket: remove the stale %s: %w", sock, err)
	}
	return sock, "", nil
}

// start runs FerretDB on the prepared directory abs with the given listener.
func start(ctx context.Context, listener ferretdb.ListenerConfig, abs string, logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.Default()
	}
	// A file: URI with the path escaped; modeof makes SQLite create every database file (and
	// its -wal and -shm) with the mode file's 0600.
	sqliteURL := "file:" + (&url.URL{Path: filepath.ToSlash(abs) + "/"}).EscapedPath() +
		"?" + url.Values{"modeof": {filepath.Join(abs, modeFile)}}.Encode()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  listener,
		Logger:    logger.With("component", "ferretdb"),
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
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

// URI is the mongodb:// address clients connect to: the socket path, escaped, as its host.
func (s *Server) URI() string { return s.uri }

// Close stops the server and waits until it has released its databases and its socket.
func (s *Server) Close() {
	s.cancel()
	<-s.done
	if s.tempDir != "" {
		_ = os.RemoveAll(s.tempDir)
	}
}
