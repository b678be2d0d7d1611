package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

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
	s := &SQL{db: db, d: sqliteDialect}
	if err := s.db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return s, nil
}
