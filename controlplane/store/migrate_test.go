package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestReopen: opening a migrated database again applies nothing twice and keeps the data.
func TestReopen(t *testing.T) {
	eachDB(t, func(t *testing.T, open func(context.Context) (*SQL, error)) {
		ctx := context.Background()
		s := mustOpen(t, open)
		if err := s.SetSetting(ctx, "k", "v"); err != nil {
			t.Fatal(err)
		}
		ms, err := migrations(s.d.name)
		if err != nil || len(ms) == 0 {
			t.Fatalf("migrations: %v (%d)", err, len(ms))
		}
		for range 2 {
			again := mustOpen(t, open)
			v, err := again.Setting(ctx, "k")
			if err != nil || v != "v" {
				t.Fatalf("after reopening: %q, %v", v, err)
			}
			var n, max int64
			if err := again.db.QueryRowContext(ctx, `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
				t.Fatal(err)
			}
			if n != int64(len(ms)) || max != ms[len(ms)-1].version {
				t.Fatalf("schema_migrations has %d rows up to %d, want %d up to %d", n, max, len(ms), ms[len(ms)-1].version)
			}
		}
	})
}

// TestConcurrentOpen: processes starting together on a new database both come up.
func TestConcurrentOpen(t *testing.T) {
	eachDB(t, func(t *testing.T, open func(context.Context) (*SQL, error)) {
		const n = 4
		var wg sync.WaitGroup
		stores := make([]*SQL, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() { stores[i], errs[i] = open(context.Background()) })
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Errorf("open %d: %v", i, errs[i])
				continue
			}
			_ = stores[i].Close()
		}
	})
}

// TestNewerSchema: a binary refuses a database a newer one has migrated.
func TestNewerSchema(t *testing.T) {
	eachDB(t, func(t *testing.T, open func(context.Context) (*SQL, error)) {
		ctx := context.Background()
		s := mustOpen(t, open)
		if _, err := s.db.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`), 999999); err != nil {
			t.Fatal(err)
		}
		again, err := open(ctx)
		if err == nil {
			_ = again.Close()
			t.Fatal("opened a database with a newer schema")
		}
		if !errors.Is(err, errSchemaNewer) {
			t.Fatalf("error %v, want %v", err, errSchemaNewer)
		}
	})
}

func TestOpenSQLiteCreatesDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b?c", "cp.db")
	s, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file: %v", err)
	}
	var mode string
	if err := s.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal mode %q, %v; want wal", mode, err)
	}
	var fk int
	if err := s.db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys %d, %v; want 1", fk, err)
	}
}

// TestOpenSQLiteFilesArePrivate finds the database and its -wal and -shm files readable by this
// user alone: they hold developers' password hashes and sessions.
func TestOpenSQLiteFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "controlplane.db")
	s, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SetSetting(context.Background(), "k", "v"); err != nil {
		t.Fatal(err)
	}
	want := map[string]os.FileMode{dir: 0o700, path: 0o600, path + "-wal": 0o600, path + "-shm": 0o600}
	for p, mode := range want {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s has mode %v, want %v", p, fi.Mode().Perm(), mode)
		}
	}
}

func TestOpenPostgresBadURL(t *testing.T) {
	_, err := OpenPostgres(context.Background(), "postgres://u:secret@127.0.0.1:1/x?sslmode=bogus")
	if err == nil {
		t.Fatal("opened with an invalid URL")
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("error leaks the password: %v", err)
	}
}
