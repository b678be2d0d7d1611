package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// postgresMigrationLock is the pg_advisory_xact_lock key migrations take: two control-plane
// processes starting against the same database then migrate one after the other.
const postgresMigrationLock int64 = 0x6261636b7061636b // "backpack"

var postgresDialect = dialect{
	name:           "postgres",
	dollar:         true,
	lockMigrations: fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", postgresMigrationLock),
	// SHARE ROW EXCLUSIVE conflicts with itself (and with writes to developers) but not with
	// reads: registrations queue up while sign-ins go on.
	lockRegister: "LOCK TABLE developers IN SHARE ROW EXCLUSIVE MODE",
	classify: func(err error) violation {
		var pe *pgconn.PgError
		if !errors.As(err, &pe) {
			return noViolation
		}
		switch pe.Code {
		case "23505": // unique_violation
			return uniqueViolation
		case "23503": // foreign_key_violation
			return foreignKeyViolation
		}
		return noViolation
	},
}

// OpenPostgres connects to the PostgreSQL database at url (a postgres:// URL or key=value
// DSN), applies pending migrations and returns the store: production deployments share one
// database between control-plane replicas.
func OpenPostgres(ctx context.Context, url string) (*SQL, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// The parse error may quote the URL, password included.
		return nil, errors.New("open postgres: invalid connection URL")
	}
	db := stdlib.OpenDB(*cfg)
	// database/sql keeps 2 idle connections by default: too few for a server whose requests
	// each touch the store, so connections would be opened and closed all the time.
	db.SetMaxIdleConns(10)
	s := &SQL{db: db, d: postgresDialect, local: newLocalCoordination()}
	if err := s.db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	return s, nil
}
