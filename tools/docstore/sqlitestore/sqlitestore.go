// Package sqlitestore is the sqlite engine of the document store: one SQLite file per backend
// (modernc.org/sqlite, pure Go), a table per collection holding each document as JSONB next
// to its _id, filters and sorts compiled to SQL with MongoDB's semantics, indexes as SQLite
// expression indexes on the very expressions the compiler emits, and writes grouped into
// shared transactions so that many concurrent clients are not held to one commit each. It is
// what the embedded default and the local runtime run on: nothing else to start, and an idle
// backend holds no connection.
package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/backpackhq/backpack/tools/docstore"
)

// Options tune a Store; the zero value is ready to use.
type Options struct {
	// Limits bound every call (deadline, concurrent unindexed scans).
	Limits docstore.Limits
	// MaxReaders bounds the reading connections (default 4); writes have one of their own.
	MaxReaders int
	// CacheKiB is each connection's page cache (default 2048).
	CacheKiB int
	// IdleTimeout closes connections unused for that long (default 30s), so that an idle
	// backend holds no page cache.
	IdleTimeout time.Duration
	// NoPageCache turns off the cache of unindexed pages (cache.go), for measurements.
	NoPageCache bool
}

func (o Options) withDefaults() Options {
	o.Limits = o.Limits.WithDefaults()
	if o.MaxReaders <= 0 {
		o.MaxReaders = 4
	}
	if o.CacheKiB <= 0 {
		o.CacheKiB = 2048
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Second
	}
	return o
}

// ErrClosed is returned by calls on a closed Store.
var ErrClosed = errors.New("sqlitestore: store is closed")

// maxBatch bounds how many writes share one transaction.
const maxBatch = 256

// Store is one backend's SQLite database. It implements docstore.Store.
type Store struct {
	path   string
	limits docstore.Limits
	rdb    *sql.DB // readers, query_only
	wdb    *sql.DB // the single writer connection
	scans  chan struct{}
	writes chan *writeOp
	done   chan struct{}
	wg     sync.WaitGroup
	closed sync.Once

	mu       sync.RWMutex
	colls    map[string]*collState
	stmts    stmtCache
	versions sync.Map        // collection name → *atomic.Int64, see cache.go
	written  map[string]bool // collections the writer's transaction wrote to (writer only)
	cache    pageCache
	noCache  bool

	// shape changes whenever a collection's set of array paths grows, which changes how its
	// queries compile; a read that sees it change while running runs again.
	shape atomic.Int64
}

// collState is what the engine knows about one collection.
type collState struct {
	name    string
	table   string // quoted table name
	arrays  atomic.Pointer[map[string]bool]
	indexes []indexDef // guarded by Store.mu
}

type indexDef struct {
	docstore.Index
	sqlName string
}

var _ docstore.Store = (*Store)(nil)

// Open opens (creating it if needed) the database file at path.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	registerFunctions()
	opts = opts.withDefaults()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	f.Close()
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open %s: the path may not contain '?' or '#'", path)
	}
	pragmas := url.Values{"_pragma": {
		"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(NORMAL)",
		fmt.Sprintf("cache_size(-%d)", opts.CacheKiB), "temp_store(MEMORY)",
	}}
	dsn := "file:" + path + "?" + pragmas.Encode()
	s := &Store{
		path:    path,
		limits:  opts.Limits,
		scans:   make(chan struct{}, opts.Limits.MaxConcurrentScans),
		writes:  make(chan *writeOp, maxBatch),
		done:    make(chan struct{}),
		colls:   map[string]*collState{},
		cache:   pageCache{idle: opts.IdleTimeout},
		noCache: opts.NoPageCache,
	}
	if s.wdb, err = sql.Open("sqlite", dsn); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxIdleTime(opts.IdleTimeout)
	if s.rdb, err = sql.Open("sqlite", dsn+"&_pragma=query_only(1)"); err != nil {
		s.wdb.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s.stmts.db = s.rdb
	s.rdb.SetMaxOpenConns(opts.MaxReaders)
	s.rdb.SetMaxIdleConns(opts.MaxReaders)
	s.rdb.SetConnMaxIdleTime(opts.IdleTimeout)
	if err := s.init(ctx); err != nil {
		s.rdb.Close()
		s.wdb.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s.wg.Add(1)
	go s.writer()
	return s, nil
}

// init creates the engine's own tables and loads what it knows about the collections.
func (s *Store) init(ctx context.Context) error {
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS docstore_collections (name TEXT PRIMARY KEY, tbl TEXT NOT NULL, arrays TEXT NOT NULL DEFAULT '[]')`,
		`CREATE TABLE IF NOT EXISTS docstore_indexes (seq INTEGER PRIMARY KEY, collection TEXT NOT NULL, name TEXT NOT NULL,
			sqlname TEXT NOT NULL UNIQUE, fields TEXT NOT NULL, uniq INTEGER NOT NULL, UNIQUE (collection, name))`,
	} {
		if _, err := s.wdb.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return s.load(ctx, s.wdb)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// load reads the collections and their indexes from the database.
func (s *Store) load(ctx context.Context, q querier) error {
	colls := map[string]*collState{}
	rows, err := q.QueryContext(ctx, `SELECT name, tbl, arrays FROM docstore_collections`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var name, tbl, arrays string
		if err := rows.Scan(&name, &tbl, &arrays); err != nil {
			rows.Close()
			return err
		}
		var list []string
		if err := json.Unmarshal([]byte(arrays), &list); err != nil {
			rows.Close()
			return fmt.Errorf("array paths of %s: %w", name, err)
		}
		st := &collState{name: name, table: quoteIdent(tbl)}
		set := map[string]bool{}
		for _, p := range list {
			set[p] = true
		}
		st.arrays.Store(&set)
		colls[name] = st
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = q.QueryContext(ctx, `SELECT collection, name, sqlname, fields, uniq FROM docstore_indexes ORDER BY name`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var coll, fields string
		var def indexDef
		if err := rows.Scan(&coll, &def.Name, &def.sqlName, &fields, &def.Unique); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(fields), &def.Fields); err != nil {
			return fmt.Errorf("index %s: %w", def.Name, err)
		}
		if st := colls[coll]; st != nil {
			st.indexes = append(st.indexes, def)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.colls = colls
	s.mu.Unlock()
	s.shape.Add(1)
	return nil
}

// state returns what the engine knows about a collection, nil when it does not exist.
func (s *Store) state(name string) *collState {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.colls[name]
}

// newCompiler prepares a compiler for a collection's current shape.
func (s *Store) newCompiler(st *collState) *compiler {
	c := &compiler{arrays: *st.arrays.Load(), indexed: map[string]bool{}}
	s.mu.RLock()
	for _, idx := range st.indexes {
		path, _ := docstore.IndexField(idx.Fields[0])
		c.indexed[path] = true
	}
	s.mu.RUnlock()
	return c
}

// Engine reports docstore.EngineSQLite.
func (s *Store) Engine() string { return docstore.EngineSQLite }

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Collection returns a handle on a collection.
func (s *Store) Collection(name string) docstore.Collection {
	return &collection{s: s, name: name}
}

func checkName(name string) error {
	if name == "" || strings.IndexByte(name, 0) >= 0 {
		return fmt.Errorf("collection name %q: %w", name, docstore.ErrInvalidQuery)
	}
	return nil
}

// CreateCollection makes sure a collection exists.
func (s *Store) CreateCollection(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	ctx, cancel := s.limits.Bound(ctx)
	defer cancel()
	return s.write(ctx, func(w *wtx) error {
		_, err := w.ensure(name)
		return err
	})
}

// DropCollection deletes a collection, its documents and its indexes.
func (s *Store) DropCollection(ctx context.Context, name string) error {
	ctx, cancel := s.limits.Bound(ctx)
	defer cancel()
	err := s.write(ctx, func(w *wtx) error {
		w.changed(name)
		st := s.state(name)
		if st == nil {
			return nil
		}
		for _, q := range []string{`DROP TABLE IF EXISTS ` + st.table, `DELETE FROM docstore_collections WHERE name=?`, `DELETE FROM docstore_indexes WHERE collection=?`} {
			var args []any
			if strings.Contains(q, "?") {
				args = []any{name}
			}
			if _, err := w.conn.ExecContext(w.ctx, q, args...); err != nil {
				return err
			}
		}
		s.mu.Lock()
		delete(s.colls, name)
		s.mu.Unlock()
		return nil
	})
	if err != nil {
		return fmt.Errorf("drop collection %s: %w", name, err)
	}
	return nil
}

// ListCollections names every collection, sorted.
func (s *Store) ListCollections(ctx context.Context) ([]string, error) {
	ctx, cancel := s.limits.Bound(ctx)
	defer cancel()
	rows, err := s.rdb.QueryContext(ctx, `SELECT name FROM docstore_collections ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list collections: %w", s.ctxErr(ctx, err))
	}
	defer rows.Close()
	names := []string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("list collections: %w", err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list collections: %w", s.ctxErr(ctx, err))
	}
	sort.Strings(names)
	return names, nil
}

// Ping tells whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.limits.Bound(ctx)
	defer cancel()
	var one int
	if err := s.rdb.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("ping %s: %w", s.path, s.ctxErr(ctx, err))
	}
	return nil
}

// Close stops the writer and closes the connections; writes still queued fail with ErrClosed.
func (s *Store) Close(ctx context.Context) error {
	var err error
	s.closed.Do(func() {
		close(s.done)
		s.wg.Wait()
		s.cache.clear()
		s.stmts.close()
		err = errors.Join(s.rdb.Close(), s.wdb.Close())
	})
	return err
}

// ctxErr reports a context's end rather than the driver's "interrupted" when that is why a
// statement stopped.
func (s *Store) ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && err != nil {
		return cerr
	}
	return err
}

// acquireScan takes a place among the unindexed scans, waiting until ctx ends.
func (s *Store) acquireScan(ctx context.Context) (func(), error) {
	select {
	case s.scans <- struct{}{}:
		return func() { <-s.scans }, nil
	default:
	}
	select {
	case s.scans <- struct{}{}:
		return func() { <-s.scans }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for one of %d unindexed scans: %w", cap(s.scans), ctx.Err())
	}
}

func isNoSuchTable(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no such table")
}

// query compiles filter and sort for collection and runs sel over the matches, each row given
// to each, pg the page to return. A missing collection has no rows. The query runs
// again when the collection's shape changed meanwhile (reset is called before every run);
// served tells whether an index served it.
func (s *Store) query(ctx context.Context, coll string, filter, sortBy bson.D, sel string, pg page, reset func(), each func(*sql.Rows) error) (served bool, err error) {
	for {
		st := s.state(coll)
		if st == nil {
			return true, nil
		}
		shape := s.shape.Load()
		c := s.newCompiler(st)
		q, err := c.selectSQL(st, filter, sortBy, sel, pg)
		if err != nil {
			c.release()
			return false, err
		}
		if reset != nil {
			reset()
		}
		err = s.run(ctx, c.served, q, c.args, each)
		c.release()
		if isNoSuchTable(err) {
			return true, nil
		}
		if err != nil || s.shape.Load() == shape {
			return c.served, err
		}
	}
}

// selectSQL builds a SELECT.
func (c *compiler) selectSQL(st *collState, filter, sortBy bson.D, sel string, pg page) (string, error) {
	where, err := c.filter(filter, true)
	if err != nil {
		return "", err
	}
	order, err := c.orderBy(sortBy)
	if err != nil {
		return "", err
	}
	if c.guard != "" {
		// CASE keeps SQLite from checking the guard on rows the filter leaves out.
		where = "(CASE WHEN " + where + " THEN " + c.guard + " ELSE 0 END)"
	}
	if c.served || order == "" || pg.limit <= 0 || sel != "doc" {
		return "SELECT " + sel + " FROM " + st.table + " WHERE " + where + order + pg.sql(), nil
	}
	// A sorted page that no index serves: sort only rowids by their keys (scan.go), then read
	// the page's documents, so that SQLite's sorter does not carry every document.
	inner, err := c.scanPageSQL(st, filter, sortBy, pg)
	if err != nil {
		return "", err
	}
	return "SELECT doc FROM " + st.table + " WHERE rowid IN (" + inner + ")" + order, nil
}

// run runs a read, in the scan bound when no index serves it.
func (s *Store) run(ctx context.Context, served bool, q string, args []any, each func(*sql.Rows) error) error {
	if !served {
		release, err := s.acquireScan(ctx)
		if err != nil {
			return err
		}
		defer release()
	}
	rows, err := s.stmts.query(ctx, q, args...)
	if err != nil {
		return queryErr(s.ctxErr(ctx, err))
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return queryErr(s.ctxErr(ctx, rows.Err()))
}

// queryErr tells the client's refusals (errParallel from bp_parallel) from other errors.
func queryErr(err error) error {
	if err != nil && strings.Contains(err.Error(), errParallel.Error()) {
		return fmt.Errorf("%w: %s", docstore.ErrInvalidQuery, errParallel)
	}
	return err
}

// QueryPlan returns SQLite's EXPLAIN QUERY PLAN lines for a Find, so tests can check that
// indexes serve filters and sorts.
func (s *Store) QueryPlan(ctx context.Context, coll string, filter bson.D, opts docstore.FindOptions) ([]string, error) {
	st := s.state(coll)
	if st == nil {
		return nil, fmt.Errorf("query plan: no collection %s", coll)
	}
	c := s.newCompiler(st)
	defer c.release()
	q, err := c.selectSQL(st, filter, opts.Sort, "doc", page{opts.Skip, opts.Limit})
	if err != nil {
		return nil, err
	}
	rows, err := s.rdb.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, c.args...)
	if err != nil {
		return nil, fmt.Errorf("query plan: %w", err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, fmt.Errorf("query plan: %w", err)
		}
		lines = append(lines, detail)
	}
	return lines, rows.Err()
}

// page is the part of the matches a query returns: limit 0 returns them all.
type page struct {
	skip, limit int64
}

func (p page) sql() string {
	if p.skip <= 0 && p.limit <= 0 {
		return ""
	}
	limit := p.limit
	if limit <= 0 {
		limit = -1
	}
	return fmt.Sprintf(" LIMIT %d OFFSET %d", limit, max(p.skip, 0))
}
