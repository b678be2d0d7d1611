package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPostgresURL is the server scripts/test-env.sh sets up: the local cluster and its
// role backpack, which may create databases.
const DefaultPostgresURL = "postgres://backpack:backpack@127.0.0.1:5432/postgres?sslmode=disable"

// Postgres creates an empty database for the test on the PostgreSQL server at
// BACKPACK_TEST_POSTGRES_URL (default DefaultPostgresURL), drops it at cleanup, and returns
// its URL: each test gets a fresh schema, and tests can run in parallel.
func Postgres(t testing.TB) string {
	t.Helper()
	server := os.Getenv("BACKPACK_TEST_POSTGRES_URL")
	if server == "" {
		server = DefaultPostgresURL
	}
	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("BACKPACK_TEST_POSTGRES_URL: not a URL: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		Missing(t, "PostgreSQL ("+redact(u)+": "+err.Error()+")")
	}
	defer admin.Close(context.Background())

	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "backpack_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database on %s: %v", redact(u), err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, server)
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})

	db := *u
	db.Path = "/" + name
	return db.String()
}

// redact is the server's URL without its password, for messages.
func redact(u *url.URL) string { return u.Redacted() }
