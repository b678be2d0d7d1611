package sqlitestore

import (
	"context"
	"database/sql"
	"sync"
)

// SQLite compiles every statement before running it, and the compiler's SQL (type classes
// spelled as CASE expressions) is long; the same shapes of query come again and again with
// other values bound. So readers keep their prepared statements by SQL text. database/sql
// prepares a statement on each connection that runs it and finalizes it when the connection
// closes, so an idle store holds none.

const maxStmts = 64

type stmtCache struct {
	mu    sync.Mutex
	db    *sql.DB
	stmts map[string]*cachedStmt
	tick  uint64
}

type cachedStmt struct {
	stmt *sql.Stmt
	used uint64
}

// query runs q through its cached statement, preparing it the first time.
func (c *stmtCache) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	stmt, err := c.get(ctx, q)
	if err != nil {
		return nil, err
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil && ctx.Err() == nil {
		// The statement may have been evicted and closed in between.
		return c.db.QueryContext(ctx, q, args...)
	}
	return rows, err
}

func (c *stmtCache) get(ctx context.Context, q string) (*sql.Stmt, error) {
	c.mu.Lock()
	c.tick++
	if cs, ok := c.stmts[q]; ok {
		cs.used = c.tick
		c.mu.Unlock()
		return cs.stmt, nil
	}
	c.mu.Unlock()
	stmt, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cs, ok := c.stmts[q]; ok {
		stmt.Close()
		return cs.stmt, nil
	}
	if c.stmts == nil {
		c.stmts = map[string]*cachedStmt{}
	}
	if len(c.stmts) >= maxStmts {
		var oldest string
		var at uint64
		for k, cs := range c.stmts {
			if oldest == "" || cs.used < at {
				oldest, at = k, cs.used
			}
		}
		c.stmts[oldest].stmt.Close()
		delete(c.stmts, oldest)
	}
	c.stmts[q] = &cachedStmt{stmt: stmt, used: c.tick}
	return stmt, nil
}

// close finalizes every statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cs := range c.stmts {
		cs.stmt.Close()
	}
	c.stmts = nil
}
