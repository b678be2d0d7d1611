package sqlitestore

import (
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/backpackhq/backpack/tools/docstore"
)

// A page of a query that no index serves costs a scan of the whole collection (a sort on an
// unindexed field reads every document), the same page is often asked for again and again
// (the first page of a list), and the writer knows exactly when a collection changes. So the
// store keeps the last such pages, as stored JSONB, until their collection is written to:
// every write bumps its collection's version before it runs and again after its transaction
// ends, and a page is only kept if the version did not move while it was read, and only
// served for the version it was read at. The cache is small and bounded, and emptied when
// the store is idle.

// Bounds of the page cache.
const (
	cacheEntries   = 64
	cacheBytes     = 1 << 20
	cacheMaxLimit  = 200
	cacheEntrySize = 256 << 10
)

type pageCache struct {
	mu      sync.Mutex
	entries map[string]*cacheEntry
	flights map[string]*flight
	bytes   int
	idle    time.Duration
	timer   *time.Timer
}

type cacheEntry struct {
	version int64
	blobs   [][]byte
	size    int
	used    time.Time
}

// version is the write counter of a collection, created on first use and never removed, so
// that dropping and recreating a collection still moves it forward.
func (s *Store) version(coll string) *atomic.Int64 {
	if v, ok := s.versions.Load(coll); ok {
		return v.(*atomic.Int64)
	}
	v, _ := s.versions.LoadOrStore(coll, new(atomic.Int64))
	return v.(*atomic.Int64)
}

// changed marks a collection as written to, before the write runs; the writer marks it again
// once the transaction has ended (settle). Both are needed: the first keeps readers from
// serving a page read before the write, the second from keeping a page read after the first
// mark but from a snapshot taken before the commit, which does not hold the write yet.
func (w *wtx) changed(coll string) {
	w.s.version(coll).Add(1)
	if w.s.written == nil {
		w.s.written = map[string]bool{}
	}
	w.s.written[coll] = true
}

// settle marks the collections the transaction wrote to once it has committed or rolled back,
// before any of its writers is answered.
func (s *Store) settle() {
	for coll := range s.written {
		s.version(coll).Add(1)
	}
	clear(s.written)
}

// cacheKey identifies a page, or says it is not one to cache.
func cacheKey(coll string, filter bson.D, opts docstore.FindOptions) (string, bool) {
	if opts.Limit <= 0 || opts.Limit > cacheMaxLimit || len(opts.Sort) == 0 {
		return "", false
	}
	key, err := bson.Marshal(bson.D{{Key: "c", Value: coll}, {Key: "f", Value: filter}, {Key: "s", Value: opts.Sort},
		{Key: "k", Value: opts.Skip}, {Key: "l", Value: opts.Limit}})
	if err != nil {
		return "", false
	}
	return string(key), true
}

// flight is a page being read, which concurrent askers of the same page wait for rather than
// scanning the collection each.
type flight struct {
	version int64
	done    chan struct{}
	blobs   [][]byte
	ok      bool
}

// join returns the flight reading a page at version, and whether the caller leads it (and
// must finish it).
func (p *pageCache) join(key string, version int64) (*flight, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f, ok := p.flights[key]; ok && f.version == version {
		return f, false
	}
	if p.flights == nil {
		p.flights = map[string]*flight{}
	}
	f := &flight{version: version, done: make(chan struct{})}
	p.flights[key] = f
	return f, true
}

// finish ends a flight with its page (ok false when the read failed or is not to keep).
func (p *pageCache) finish(key string, f *flight, blobs [][]byte, ok bool) {
	p.mu.Lock()
	if p.flights[key] == f {
		delete(p.flights, key)
	}
	p.mu.Unlock()
	f.blobs, f.ok = blobs, ok
	close(f.done)
	if ok {
		p.put(key, f.version, blobs)
	}
}

// get returns a page read at version.
func (p *pageCache) get(key string, version int64) ([][]byte, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.entries[key]
	if !ok || e.version != version {
		return nil, false
	}
	e.used = time.Now()
	return e.blobs, true
}

// put keeps a page, evicting the least recently used ones beyond the bounds.
func (p *pageCache) put(key string, version int64, blobs [][]byte) {
	size := len(key)
	for _, b := range blobs {
		size += len(b)
	}
	if size > cacheEntrySize {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.entries == nil {
		p.entries = map[string]*cacheEntry{}
	}
	if old, ok := p.entries[key]; ok {
		p.bytes -= old.size
		delete(p.entries, key)
	}
	for len(p.entries) >= cacheEntries || (p.bytes+size > cacheBytes && len(p.entries) > 0) {
		var oldest string
		var at time.Time
		for k, e := range p.entries {
			if oldest == "" || e.used.Before(at) {
				oldest, at = k, e.used
			}
		}
		p.bytes -= p.entries[oldest].size
		delete(p.entries, oldest)
	}
	p.entries[key] = &cacheEntry{version: version, blobs: blobs, size: size, used: time.Now()}
	p.bytes += size
	if p.timer == nil {
		p.timer = time.AfterFunc(p.idle, p.sweep)
	}
}

// sweep drops the pages unused for the idle timeout, and comes back while any are left.
func (p *pageCache) sweep() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, e := range p.entries {
		if time.Since(e.used) >= p.idle {
			p.bytes -= e.size
			delete(p.entries, k)
		}
	}
	if len(p.entries) > 0 {
		p.timer.Reset(p.idle)
		return
	}
	p.timer = nil
}

// clear drops every page and stops the sweeper.
func (p *pageCache) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.entries, p.bytes = nil, 0
}
