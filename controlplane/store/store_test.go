package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/testenv"
)

// database is one of the databases the conformance suite runs against. fresh creates an empty
// database and returns a function opening it (again, as a restarted process would).
type database struct {
	name  string
	fresh func(t *testing.T) func(ctx context.Context) (*SQL, error)
}

var databases = []database{
	{"sqlite", func(t *testing.T) func(ctx context.Context) (*SQL, error) {
		path := filepath.Join(t.TempDir(), "cp.db")
		return func(ctx context.Context) (*SQL, error) { return OpenSQLite(ctx, path) }
	}},
	{"postgres", func(t *testing.T) func(ctx context.Context) (*SQL, error) {
		url := testenv.Postgres(t)
		return func(ctx context.Context) (*SQL, error) { return OpenPostgres(ctx, url) }
	}},
}

// each runs test against a fresh store on every database, as subtests.
func each(t *testing.T, test func(t *testing.T, s Store)) {
	t.Helper()
	eachDB(t, func(t *testing.T, open func(context.Context) (*SQL, error)) {
		test(t, mustOpen(t, open))
	})
}

// eachDB runs test with an opener of a fresh database on every database, for tests that open
// it more than once.
func eachDB(t *testing.T, test func(t *testing.T, open func(context.Context) (*SQL, error))) {
	t.Helper()
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			test(t, db.fresh(t))
		})
	}
}

// mustOpen opens the store and closes it at cleanup.
func mustOpen(t *testing.T, open func(context.Context) (*SQL, error)) *SQL {
	t.Helper()
	s, err := open(context.Background())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// t0 is a time with milliseconds, as stored.
var t0 = time.Date(2026, 5, 1, 12, 0, 0, 123_000_000, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// wantErr fails unless err is target (nil meaning success).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if target == nil {
		if err != nil {
			t.Fatalf("%s: unexpected error %v", what, err)
		}
		return
	}
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
}

func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func TestPing(t *testing.T) {
	each(t, func(t *testing.T, s Store) {
		if err := s.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRebindDollar(t *testing.T) {
	got := rebindDollar(`SELECT a FROM t WHERE b = ? AND c = '?' AND "d?" = ? OR e IN (?, ?)`)
	want := `SELECT a FROM t WHERE b = $1 AND c = '?' AND "d?" = $2 OR e IN ($3, $4)`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestMillis(t *testing.T) {
	if millis(time.Time{}) != 0 || !fromMillis(0).IsZero() {
		t.Fatal("zero time must be stored as 0 and read back as the zero time")
	}
	in := time.Date(2026, 1, 2, 3, 4, 5, 678_901_234, time.FixedZone("X", 3600))
	out := fromMillis(millis(in))
	if !out.Equal(in.Truncate(time.Millisecond)) || out.Location() != time.UTC {
		t.Fatalf("round trip of %v gave %v", in, out)
	}
}

// race runs n copies of fn at once and returns their errors. The store's connection pool is
// filled first and the goroutines start together, so they really do overlap.
func race(t *testing.T, s Store, n int, fn func(i int) error) []error {
	t.Helper()
	if sq, ok := s.(*SQL); ok {
		warm := n
		if limit := sq.db.Stats().MaxOpenConnections; limit > 0 && limit < warm {
			warm = limit
		}
		conns := make([]*sql.Conn, 0, warm)
		for range warm {
			c, err := sq.db.Conn(context.Background())
			if err != nil {
				t.Fatalf("warm the pool: %v", err)
			}
			conns = append(conns, c)
		}
		for _, c := range conns {
			_ = c.Close()
		}
	}
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}
