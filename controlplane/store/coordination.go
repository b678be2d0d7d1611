package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

// Coordination lets several control-plane processes share one database: one of them leads
// (only the leader reconciles), and each tells the others what it changed so their event
// streams and the leader's reconciler react at once.
type Coordination interface {
	// TryLead takes the leader lock if no other process holds it; ok is false when another
	// does. The lease lasts until Release or until the database connection holding it dies,
	// whichever comes first; its Lost channel says so.
	TryLead(ctx context.Context) (lease Lease, ok bool, err error)
	// Notify tells every process listening on the database, this one included, that topic
	// changed. Delivery is at most once: listeners also look at the data on their own.
	Notify(ctx context.Context, topic string) error
	// Listen calls fn with every topic notified, by any process, until ctx ends. It calls
	// fn("") whenever notices may have been missed — once listening starts, and again each
	// time its connection was lost and opened again — meaning "anything may have changed".
	// fn must not block.
	Listen(ctx context.Context, fn func(topic string))
}

// Lease is leadership held by this process.
type Lease interface {
	// Lost is closed once the leadership has ended: released, or its connection lost.
	Lost() <-chan struct{}
	// Release gives the leadership up; another process may take it at once.
	Release()
}

// postgresLeaderLock is the session-level advisory lock key the leader holds; it differs from
// postgresMigrationLock so that migrating never waits for the leader.
const postgresLeaderLock = postgresMigrationLock + 1

// postgresChannel is the LISTEN/NOTIFY channel of change notices.
const postgresChannel = "backpack_changes"

// leaseCheckInterval is how often the leader checks that the connection holding its lock is
// still alive, and leaseCheckTimeout how long that check may take before the lease counts as
// lost.
const (
	leaseCheckInterval = time.Second
	leaseCheckTimeout  = 2 * time.Second
)

// listenRetry is the wait before a listener whose connection failed connects again.
const listenRetry = time.Second

// TryLead takes the leader lock (see Coordination).
func (s *SQL) TryLead(ctx context.Context) (Lease, bool, error) {
	if s.d.name != postgresDialect.name {
		return s.local.tryLead()
	}
	// A session-level lock belongs to one connection: the lease keeps that connection out of
	// the pool for as long as it lasts. If the connection dies, PostgreSQL releases the lock.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("leader lock: %w", err)
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", postgresLeaderLock).Scan(&ok); err != nil {
		discard(conn)
		return nil, false, fmt.Errorf("leader lock: %w", err)
	}
	if !ok {
		_ = conn.Close()
		return nil, false, nil
	}
	l := &pgLease{conn: conn, lost: make(chan struct{}), stop: make(chan struct{})}
	go l.watch()
	return l, true, nil
}

// pgLease holds the advisory lock on its own connection and checks that connection every
// leaseCheckInterval.
type pgLease struct {
	conn    *sql.Conn
	lost    chan struct{}
	stop    chan struct{}
	release sync.Once
}

func (l *pgLease) Lost() <-chan struct{} { return l.lost }

func (l *pgLease) watch() {
	defer close(l.lost)
	t := time.NewTicker(leaseCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), leaseCheckTimeout)
		_, err := l.conn.ExecContext(ctx, "SELECT 1")
		cancel()
		if err != nil {
			return
		}
	}
}

// Release unlocks and closes the lease's connection rather than return it to the pool: should
// the unlock fail, the lock must not stay held by a pooled connection.
func (l *pgLease) Release() {
	l.release.Do(func() {
		close(l.stop)
		<-l.lost
		ctx, cancel := context.WithTimeout(context.Background(), leaseCheckTimeout)
		defer cancel()
		_, _ = l.conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", postgresLeaderLock)
		discard(l.conn)
	})
}

// discard closes conn's underlying connection instead of returning it to the pool.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}

// Notify sends a change notice (see Coordination).
func (s *SQL) Notify(ctx context.Context, topic string) error {
	if s.d.name != postgresDialect.name {
		s.local.notify(topic)
		return nil
	}
	if _, err := s.db.ExecContext(ctx, "SELECT pg_notify($1, $2)", postgresChannel, topic); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

// Listen follows change notices (see Coordination). On PostgreSQL it holds one connection
// that LISTENs, and opens another if that one fails.
func (s *SQL) Listen(ctx context.Context, fn func(topic string)) {
	if s.d.name != postgresDialect.name {
		s.local.listen(ctx, fn)
		return
	}
	for ctx.Err() == nil {
		// It returns when its connection fails; the next one reports what may have been
		// missed meanwhile with fn("").
		s.listenOnce(ctx, fn)
		select {
		case <-ctx.Done():
			return
		case <-time.After(listenRetry):
		}
	}
}

func (s *SQL) listenOnce(ctx context.Context, fn func(topic string)) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return
	}
	defer discard(conn) // it LISTENs: never back to the pool
	if _, err := conn.ExecContext(ctx, "LISTEN "+postgresChannel); err != nil {
		return
	}
	fn("")
	_ = conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return errors.New("listen: not a pgx connection")
		}
		for {
			n, err := c.Conn().WaitForNotification(ctx)
			if err != nil {
				return err
			}
			fn(n.Payload)
		}
	})
}

// localCoordination is Coordination within one process, for SQLite: the embedded default runs
// a single control plane, so the lock and the notices need no database.
type localCoordination struct {
	mu        sync.Mutex
	leading   bool
	listeners map[*func(string)]struct{}
}

func newLocalCoordination() *localCoordination {
	return &localCoordination{listeners: map[*func(string)]struct{}{}}
}

func (c *localCoordination) tryLead() (Lease, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.leading {
		return nil, false, nil
	}
	c.leading = true
	return &localLease{c: c, lost: make(chan struct{})}, true, nil
}

type localLease struct {
	c       *localCoordination
	lost    chan struct{}
	release sync.Once
}

func (l *localLease) Lost() <-chan struct{} { return l.lost }

func (l *localLease) Release() {
	l.release.Do(func() {
		l.c.mu.Lock()
		l.c.leading = false
		l.c.mu.Unlock()
		close(l.lost)
	})
}

func (c *localCoordination) notify(topic string) {
	c.mu.Lock()
	fns := make([]func(string), 0, len(c.listeners))
	for fn := range c.listeners {
		fns = append(fns, *fn)
	}
	c.mu.Unlock()
	for _, fn := range fns {
		fn(topic)
	}
}

func (c *localCoordination) listen(ctx context.Context, fn func(string)) {
	key := &fn
	c.mu.Lock()
	c.listeners[key] = struct{}{}
	c.mu.Unlock()
	fn("")
	<-ctx.Done()
	c.mu.Lock()
	delete(c.listeners, key)
	c.mu.Unlock()
}
