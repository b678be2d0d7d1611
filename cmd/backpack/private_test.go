package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/backpackhq/backpack/internal/testenv"
)

// TestDevDataIsPrivate runs `backpack dev` and finds no database reachable over TCP and its
// database, secret key and backends' directory readable by this user alone (each backend's
// own database file is checked by the local runtime's TestDataIsPrivate).
func TestDevDataIsPrivate(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	dir := filepath.Join(t.TempDir(), "data")
	_, stop := startDev(t, dir)
	defer func() { _ = stop() }()
	if got := testenv.MongoTCPListeners(t); len(got) > 0 {
		t.Fatalf("TCP listeners answering Mongo: %v", got)
	}
	for path, want := range map[string]os.FileMode{
		dir:                                   0o700,
		filepath.Join(dir, "controlplane.db"): 0o600,
		filepath.Join(dir, "secret.key"):      0o600,
		filepath.Join(dir, "backends"):        0o700,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
}
