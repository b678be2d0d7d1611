// Package testenv starts the real servers integration tests talk to — redis-server on a free
// loopback port, FerretDB in-process — and applies the project's rule for missing servers:
// under CI (CI=true) a missing server fails the test, elsewhere the test skips and names it.
package testenv

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"testing"

	"github.com/backpackhq/backpack/internal/redisserver"
	"github.com/backpackhq/backpack/tools/embeddeddb"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Missing fails the test under CI and skips it elsewhere, naming what is missing and how to
// get it.
func Missing(t testing.TB, what string) {
	t.Helper()
	msg := fmt.Sprintf("MISSING %s — run scripts/test-env.sh (as root) to install it", what)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// FreeAddr returns a loopback address with a port nobody listens on right now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find free port: %v", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// Redis starts a throw-away redis-server (no persistence) for the test and returns its URL.
func Redis(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		Missing(t, "redis-server")
	}
	url, stop, err := redisserver.Start(context.Background(), bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return url
}

// FerretDB starts an in-process FerretDB on SQLite in a temporary directory and returns its URI.
func FerretDB(t testing.TB) string {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := embeddeddb.Start(context.Background(), t.TempDir(), quiet)
	if err != nil {
		t.Fatalf("start FerretDB: %v", err)
	}
	t.Cleanup(s.Close)
	return s.URI()
}

// MongoDatabase connects to uri and returns the named database, disconnected at cleanup.
func MongoDatabase(t testing.TB, uri, name string) *mongo.Database {
	t.Helper()
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatalf("connect %s: %v", uri, err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	return client.Database(name)
}
