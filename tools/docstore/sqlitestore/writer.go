package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/backpackhq/backpack/tools/docstore"
)

// SQLite has one writer at a time, and a commit costs a WAL sync. Writes therefore go to a
// single goroutine that takes every write waiting and runs them in one transaction (group
// commit), each in its own SAVEPOINT so that one failing write (a duplicate key, say) is
// undone alone and its caller alone gets the error.

// writeOp is one write waiting for the writer.
type writeOp struct {
	ctx  context.Context
	fn   func(w *wtx) error
	done chan error
}

// wtx is the writer's transaction as one write sees it.
type wtx struct {
	ctx  context.Context
	conn *sql.Conn
	s    *Store
}

// write runs fn in the writer's next transaction and returns its error.
func (s *Store) write(ctx context.Context, fn func(w *wtx) error) error {
	op := &writeOp{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.writes <- op:
	case <-s.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-op.done
}

func (s *Store) writer() {
	defer s.wg.Done()
	for {
		var first *writeOp
		select {
		case first = <-s.writes:
		case <-s.done:
			for {
				select {
				case op := <-s.writes:
					op.done <- ErrClosed
				default:
					return
				}
			}
		}
		batch := []*writeOp{first}
	fill:
		for len(batch) < maxBatch {
			select {
			case op := <-s.writes:
				batch = append(batch, op)
			default:
				break fill
			}
		}
		s.runBatch(batch)
	}
}

func (s *Store) runBatch(batch []*writeOp) {
	bg := context.Background()
	conn, err := s.wdb.Conn(bg)
	if err != nil {
		for _, op := range batch {
			op.done <- err
		}
		return
	}
	defer conn.Close()
	for len(batch) > 0 {
		batch = s.tryBatch(conn, batch)
	}
}

// tryBatch runs ops in one transaction and answers them; when the transaction is lost (an
// interrupted write rolls all of it back) it answers the interrupted op and returns the others
// to run again.
func (s *Store) tryBatch(conn *sql.Conn, ops []*writeOp) []*writeOp {
	bg := context.Background()
	fail := func(err error) {
		for _, op := range ops {
			op.done <- err
		}
	}
	if _, err := conn.ExecContext(bg, "BEGIN IMMEDIATE"); err != nil {
		fail(fmt.Errorf("begin: %w", err))
		return nil
	}
	results := make([]error, len(ops))
	for i, op := range ops {
		if err := op.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if _, err := conn.ExecContext(bg, "SAVEPOINT w"); err != nil {
			results[i] = err
			continue
		}
		err := op.fn(&wtx{ctx: op.ctx, conn: conn, s: s})
		if err != nil {
			if _, rerr := conn.ExecContext(bg, "ROLLBACK TO w"); rerr != nil {
				s.abandon(conn)
				op.done <- s.ctxErr(op.ctx, err)
				rest := make([]*writeOp, 0, len(ops)-1)
				rest = append(rest, ops[:i]...)
				return append(rest, ops[i+1:]...)
			}
			// The failed write may have created a table or an index before failing.
			_ = s.load(bg, conn)
		}
		if _, rerr := conn.ExecContext(bg, "RELEASE w"); rerr != nil && err == nil {
			err = rerr
		}
		results[i] = s.ctxErr(op.ctx, err)
	}
	if _, err := conn.ExecContext(bg, "COMMIT"); err != nil {
		s.abandon(conn)
		fail(fmt.Errorf("commit: %w", err))
		return nil
	}
	s.settle()
	for i, op := range ops {
		op.done <- results[i]
	}
	return nil
}

// abandon rolls the transaction back and forgets what it had changed in memory.
func (s *Store) abandon(conn *sql.Conn) {
	bg := context.Background()
	_, _ = conn.ExecContext(bg, "ROLLBACK")
	s.settle()
	_ = s.load(bg, conn)
}

// ensure creates a collection's table if needed.
func (w *wtx) ensure(name string) (*collState, error) {
	if st := w.s.state(name); st != nil {
		return st, nil
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	tbl := "c_" + name
	st := &collState{name: name, table: quoteIdent(tbl)}
	empty := map[string]bool{}
	st.arrays.Store(&empty)
	if _, err := w.conn.ExecContext(w.ctx, `CREATE TABLE IF NOT EXISTS `+st.table+` (id NOT NULL PRIMARY KEY, doc BLOB NOT NULL)`); err != nil {
		return nil, fmt.Errorf("create collection %s: %w", name, err)
	}
	if _, err := w.conn.ExecContext(w.ctx, `INSERT OR IGNORE INTO docstore_collections (name, tbl) VALUES (?, ?)`, name, tbl); err != nil {
		return nil, fmt.Errorf("create collection %s: %w", name, err)
	}
	w.s.mu.Lock()
	w.s.colls[name] = st
	w.s.mu.Unlock()
	return st, nil
}

// noteArrays records the paths doc holds arrays on, before the document is written, so that
// queries compiled from then on give those paths MongoDB's array semantics.
func (w *wtx) noteArrays(st *collState, doc bson.D) error {
	found := map[string]bool{}
	collectArrays(doc, "", found)
	known := *st.arrays.Load()
	var added []string
	for p := range found {
		if !known[p] && (!strings.HasPrefix(p, objectMark) || len(known) < maxObjectMarks) {
			added = append(added, p)
		}
	}
	if len(added) == 0 {
		return nil
	}
	next := make(map[string]bool, len(known)+len(added))
	list := make([]string, 0, len(known)+len(added))
	for p := range known {
		next[p] = true
		list = append(list, p)
	}
	for _, p := range added {
		next[p] = true
		list = append(list, p)
	}
	sort.Strings(list)
	enc, err := json.Marshal(list)
	if err != nil {
		return err
	}
	st.arrays.Store(&next)
	w.s.shape.Add(1)
	if _, err := w.conn.ExecContext(w.ctx, `UPDATE docstore_collections SET arrays=? WHERE name=?`, string(enc), st.name); err != nil {
		return fmt.Errorf("record array paths of %s: %w", st.name, err)
	}
	return nil
}

// objectMark prefixes, in a collection's set of array paths, the paths that hold objects: a
// sort on them needs MongoDB's order of objects, which the JSON text SQL sees does not give.
// Past maxObjectMarks known paths (documents keyed by ids, say), no more object paths are
// recorded: only sorts on objects there would order them by their JSON text.
const (
	objectMark     = "\x00"
	maxObjectMarks = 512
)

// collectArrays adds the dotted paths (array positions left out) that hold arrays in v.
func collectArrays(v any, prefix string, out map[string]bool) {
	switch t := v.(type) {
	case bson.D:
		if prefix != "" {
			out[objectMark+prefix] = true
		}
		for _, e := range t {
			p := e.Key
			if prefix != "" {
				p = prefix + "." + e.Key
			}
			collectArrays(e.Value, p, out)
		}
	case bson.A:
		out[prefix] = true
		for _, el := range t {
			collectArrays(el, prefix, out)
		}
	case []any:
		collectArrays(bson.A(t), prefix, out)
	}
}

// dupError turns SQLite's unique constraint errors into *docstore.DuplicateError.
func (s *Store) dupError(st *collState, err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if !strings.Contains(msg, "UNIQUE constraint failed") {
		return err
	}
	if _, rest, ok := strings.Cut(msg, "index '"); ok {
		name, _, _ := strings.Cut(rest, "'")
		s.mu.RLock()
		defer s.mu.RUnlock()
		for _, idx := range st.indexes {
			if idx.sqlName == name {
				return &docstore.DuplicateError{Index: idx.Name, Fields: indexPaths(idx.Fields)}
			}
		}
	}
	return &docstore.DuplicateError{Index: "_id", Fields: []string{"_id"}}
}

func indexPaths(fields []string) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i], _ = docstore.IndexField(f)
	}
	return out
}

// errNoID is returned for documents without a usable _id.
var errNoID = errors.New("document needs an _id that is a string, a number or an ObjectID")

// maxUniqueProbes bounds the value combinations checkUnique looks up for one document.
const maxUniqueProbes = 1000

// checkUnique enforces the unique indexes on paths some document holds an array on. SQLite's
// expression index sees an array as one value, but MongoDB indexes each element: a document
// may not share any element (or, for a scalar, its value) with another document. rowid is the
// document's own row, to leave out (0 for a new document).
func (w *wtx) checkUnique(st *collState, doc bson.D, rowid int64) error {
	w.s.mu.RLock()
	var defs []indexDef
	for _, def := range st.indexes {
		if def.Unique {
			defs = append(defs, def)
		}
	}
	w.s.mu.RUnlock()
	if len(defs) == 0 {
		return nil
	}
	for _, def := range defs {
		if err := w.uniqueByElement(st, def, doc, rowid); err != nil {
			return err
		}
	}
	return nil
}

// uniqueByElement checks one unique index for doc, when the index's paths meet arrays.
func (w *wtx) uniqueByElement(st *collState, def indexDef, doc bson.D, rowid int64) error {
	arrays := &compiler{arrays: *st.arrays.Load()}
	paths := indexPaths(def.Fields)
	if !slices.ContainsFunc(paths, arrays.onArray) {
		return nil
	}
	probes := []bson.D{{}}
	for _, p := range paths {
		vals := elementValues(doc, p)
		next := make([]bson.D, 0, len(probes)*len(vals))
		for _, probe := range probes {
			for _, v := range vals {
				if len(next) < maxUniqueProbes {
					next = append(next, append(slices.Clone(probe), bson.E{Key: p, Value: v}))
				}
			}
		}
		probes = next
	}
	for _, probe := range probes {
		taken, err := w.exists(st, probe, rowid)
		if err != nil {
			return err
		}
		if taken {
			return &docstore.DuplicateError{Index: def.Name, Fields: paths}
		}
	}
	return nil
}

// uniqueExisting checks a new unique index over the documents already stored when its paths
// meet arrays, which the SQLite index compares whole: one lookup per document.
func (w *wtx) uniqueExisting(st *collState, def indexDef) error {
	arrays := &compiler{arrays: *st.arrays.Load()}
	if !slices.ContainsFunc(indexPaths(def.Fields), arrays.onArray) {
		return nil
	}
	rows, err := w.conn.QueryContext(w.ctx, `SELECT rowid, doc FROM `+st.table)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var rowid int64
		var raw sql.RawBytes
		if err := rows.Scan(&rowid, &raw); err != nil {
			return err
		}
		doc, err := decodeDoc(raw)
		if err != nil {
			return err
		}
		if err := w.uniqueByElement(st, def, doc, rowid); err != nil {
			return err
		}
	}
	return rows.Err()
}

// exists tells whether a document other than rowid matches filter.
func (w *wtx) exists(st *collState, filter bson.D, rowid int64) (bool, error) {
	c := w.s.newCompiler(st)
	defer c.release()
	where, err := c.filter(filter, true)
	if err != nil {
		return false, err
	}
	var one int
	err = w.conn.QueryRowContext(w.ctx, `SELECT 1 FROM `+st.table+` WHERE `+where+` AND rowid<>? LIMIT 1`, append(c.args, rowid)...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// elementValues are the values a multikey index holds for doc on path: each element of the
// arrays found, each scalar, null when the field is missing.
func elementValues(doc bson.D, path string) []any {
	var vals []any
	missing := false
	lookup(doc, strings.Split(path, "."), &vals, &missing)
	var out []any
	add := func(v any) {
		for _, have := range out {
			if classOf(have) == classOf(v) && compareValues(have, v) == 0 {
				return
			}
		}
		out = append(out, v)
	}
	for _, v := range vals {
		if arr, ok := v.(bson.A); ok {
			for _, el := range arr {
				add(normalize(el))
			}
			continue
		}
		add(v)
	}
	if missing || len(vals) == 0 {
		add(nil)
	}
	return out
}
