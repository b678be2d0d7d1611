package embeddeddb_test

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backpackhq/backpack/internal/testenv"
	"github.com/backpackhq/backpack/tools/embeddeddb"
	"go.mongodb.org/mongo-driver/v2/bson"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func start(t *testing.T, dir string) *embeddeddb.Server {
	t.Helper()
	s, err := embeddeddb.Start(context.Background(), dir, quiet)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// insert writes a document through the server's URI, which creates a database file.
func insert(t *testing.T, s *embeddeddb.Server) {
	t.Helper()
	db := testenv.MongoDatabase(t, s.URI(), "shop")
	if _, err := db.Collection("users").InsertOne(context.Background(), bson.M{"email": "ann@example.com"}); err != nil {
		t.Fatalf("insert through %s: %v", s.URI(), err)
	}
}

// wantPrivate checks that nothing under dir is open to other users: directories 0700, files
// and sockets 0600.
func wantPrivate(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestServesNoTCP starts the embedded database and finds it served on a private Unix socket in
// its directory, no TCP listener of the process answering the Mongo protocol, and every file
// it created readable by this user alone.
func TestServesNoTCP(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	s := start(t, dir)
	insert(t, s)
	if !strings.HasPrefix(s.URI(), "mongodb://%2F") || !strings.Contains(s.URI(), embeddeddb.SocketName) {
		t.Errorf("URI = %q, want a Unix socket", s.URI())
	}
	if got := testenv.MongoTCPListeners(t); len(got) > 0 {
		t.Fatalf("TCP listeners answering Mongo: %v", got)
	}
	fi, err := os.Stat(filepath.Join(dir, embeddeddb.SocketName))
	if err != nil || fi.Mode().Type() != fs.ModeSocket {
		t.Fatalf("socket: %v, %v", fi, err)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite*")); len(files) == 0 {
		t.Fatal("no database file was created")
	}
	wantPrivate(t, dir)
}

// TestNarrowsAnOpenDirectory starts on a directory others may read and finds it closed.
func TestNarrowsAnOpenDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	insert(t, start(t, dir))
	wantPrivate(t, dir)
}

// TestLongDirectory starts on a directory whose socket path would not fit a socket address:
// the socket goes to a private temporary directory, removed at Close.
func TestLongDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 60))
	s, err := embeddeddb.Start(context.Background(), dir, quiet)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	insert(t, s)
	if strings.Contains(s.URI(), "ddd") {
		t.Fatalf("URI %q uses the long directory", s.URI())
	}
	sockDir := strings.TrimSuffix(strings.TrimPrefix(strings.ReplaceAll(s.URI(), "%2F", "/"), "mongodb://"), "/"+embeddeddb.SocketName+"/")
	fi, err := os.Stat(sockDir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("socket directory %s: %v, %v", sockDir, fi, err)
	}
	wantPrivate(t, sockDir)
	wantPrivate(t, dir)
	s.Close()
	if _, err := os.Stat(sockDir); !os.IsNotExist(err) {
		t.Fatalf("socket directory after Close: %v", err)
	}
}

// TestStaleAndBusySockets starts over a socket file left by a process that died, and refuses
// to start on a directory another server is serving.
func TestStaleAndBusySockets(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("unix", filepath.Join(dir, embeddeddb.SocketName))
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	_ = l.Close()
	insert(t, start(t, dir))

	if s, err := embeddeddb.Start(context.Background(), dir, quiet); err == nil {
		s.Close()
		t.Fatal("a second server started on a served directory")
	} else if !strings.Contains(err.Error(), "another process") {
		t.Fatalf("second Start: %v", err)
	}
}
