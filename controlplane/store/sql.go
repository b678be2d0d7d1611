package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SQL is the Store over database/sql. One implementation serves PostgreSQL and SQLite so the
// two can never drift apart in behaviour; what differs between them (placeholders, locking,
// how a constraint violation is reported) lives in its dialect.
type SQL struct {
	db *sql.DB
	d  dialect
	// local coordinates control planes within this process (SQLite); PostgreSQL coordinates
	// processes through the database (see coordination.go).
	local *localCoordination
}

var _ Store = (*SQL)(nil)

// violation is the kind of constraint a failed statement broke, as far as the store cares.
type violation int

const (
	noViolation violation = iota
	uniqueViolation
	foreignKeyViolation
)

// dialect is everything the SQL store needs to know about one database.
type dialect struct {
	// name names the dialect in errors and is the migrations directory.
	name string
	// dollar: placeholders are $1, $2… instead of ?.
	dollar bool
	// lockMigrations, when set, is run first in every migration transaction so that two
	// processes opening the same database apply the migrations one after the other.
	lockMigrations string
	// lockRegister, when set, is run first in Register's transaction so that two concurrent
	// registrations cannot both see an empty developers table.
	lockRegister string
	// classify tells which constraint, if any, err reports as violated.
	classify func(err error) violation
}

// q turns a query written with ? placeholders into the dialect's form.
func (s *SQL) q(query string) string {
	if !s.d.dollar {
		return query
	}
	return rebindDollar(query)
}

// rebindDollar replaces each ? outside quoted strings and identifiers with $1, $2…
func rebindDollar(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// inTx runs fn in a transaction, committing when it returns nil and rolling back otherwise.
// On SQLite the transaction is IMMEDIATE (see OpenSQLite): it holds the write lock from the
// start, so transactions that read then write serialise instead of failing with SQLITE_BUSY.
func (s *SQL) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// violated reports whether err is a violation of the given kind of constraint.
func (s *SQL) violated(err error, v violation) bool {
	return err != nil && s.d.classify(err) == v
}

// notFound maps sql.ErrNoRows to ErrNotFound and leaves other errors as they are.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// rowsAffected returns how many rows res touched.
func rowsAffected(res sql.Result) (int64, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("rows affected: %w", err)
	}
	return n, nil
}

// millis is how a time is stored: Unix milliseconds, the zero time as 0, so both databases
// store the same integer and compare it the same way.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMillis is millis' inverse; times come back in UTC.
func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// stored is t as it reads back from the database (millisecond precision, UTC), so values a
// method returns equal what a later read returns.
func stored(t time.Time) time.Time { return fromMillis(millis(t)) }

// orNow guards the "now" a caller passes: a forgotten zero time would make every invite and
// session look unexpired.
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

// Ping checks the database answers.
func (s *SQL) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.d.name, err)
	}
	return nil
}

// Close closes the connection pool.
func (s *SQL) Close() error { return s.db.Close() }
