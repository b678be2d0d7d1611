package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

var sqliteDialect = dialect{
	name: "sqlite",
	// Transactions are BEGIN IMMEDIATE (see OpenSQLite): each holds the database's write
	// lock from its first statement, which is all the locking SQLite needs.
	classify: func(err error) violation {
		var se *sqlite.Error
		if !errors.As(err, &se) {
			return noViolation
		}
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return uniqueViolation
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return foreignKeyViolation
		}
		return noViolation
	},
}

// OpenSQLite opens (creating it and its directory if missing) the SQLite database file at
// path, applies pending migrations and returns the store: the embedded default, with no
// database server to run.
//
// The database is in WAL mode so readers never wait for the writer; write transactions are
// IMMEDIATE, so a transaction that reads then writes waits for the lock (up to the 5 s busy
// timeout) instead of failing halfway; foreign keys are enforced.
func OpenSQLite(ctx context.Context, path string) (*SQL, error) {
	if path == "" {
		return nil, errors.New("open sqlite: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// SQLite creates a missing database file 0644, and its -wal and -shm files with the
	// database file's mode: created here first, they all hold developers' password hashes
	// and sessions for this user alone.
	f, err := os.OpenFile(abs, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// A file: URI, with the path escaped, so that a ? or # in it is not taken for parameters.
	dsn := "file:" + (&url.URL{Path: filepath.ToSlash(abs)}).EscapedPath() +
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// A few connections: WAL readers proceed in parallel; writers serialise on the lock.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	s := &SQL{db: db, d: sqliteDialect, local: newLocalCoordination()}
	if err := pingSQLite(ctx, db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return s, nil
}

// pingSQLite opens the first connection. Switching a new database to WAL takes an exclusive
// lock and SQLite reports a competing opener as busy at once, without its busy timeout, so two
// processes starting together on a new file retry here for up to that timeout.
func pingSQLite(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := db.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
