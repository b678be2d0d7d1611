package sqlitestore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/backpackhq/backpack/tools/docstore"
)

// collection implements docstore.Collection on one table.
type collection struct {
	s    *Store
	name string
}

var _ docstore.Collection = (*collection)(nil)

func (c *collection) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s in %s: %w", op, c.name, err)
}

// Find returns the matching documents.
func (c *collection) Find(ctx context.Context, filter bson.D, opts docstore.FindOptions) ([]bson.D, error) {
	ctx, cancel := c.s.limits.Bound(ctx)
	defer cancel()
	proj := newProjection(opts.Projection)
	key, cacheable := cacheKey(c.name, filter, opts)
	cacheable = cacheable && !c.s.noCache
	version := c.s.version(c.name).Load()
	var leader *flight
	if cacheable {
		if blobs, ok := c.s.cache.get(key, version); ok {
			return decodePage(blobs, proj)
		}
		f, lead := c.s.cache.join(key, version)
		if lead {
			leader = f
		} else {
			select {
			case <-f.done:
				if f.ok {
					return decodePage(f.blobs, proj)
				}
			case <-ctx.Done():
				return nil, c.wrap("find", fmt.Errorf("wait for the same page: %w", ctx.Err()))
			}
		}
	}
	var out []bson.D
	var blobs [][]byte
	reset := func() { out, blobs = []bson.D{}, nil }
	served, err := c.s.query(ctx, c.name, filter, opts.Sort, "doc", page{opts.Skip, opts.Limit}, reset, func(rows *sql.Rows) error {
		var raw sql.RawBytes
		if err := rows.Scan(&raw); err != nil {
			return err
		}
		doc, err := decodeDoc(raw)
		if err != nil {
			return err
		}
		if cacheable {
			blobs = append(blobs, bytes.Clone(raw))
		}
		if proj != nil {
			doc = project(doc, proj)
		}
		out = append(out, doc)
		return nil
	})
	if leader != nil {
		c.s.cache.finish(key, leader, blobs, err == nil && !served && c.s.version(c.name).Load() == version)
	}
	if err != nil {
		return nil, c.wrap("find", err)
	}
	if out == nil {
		out = []bson.D{}
	}
	return out, nil
}

// decodePage decodes a cached page.
func decodePage(blobs [][]byte, proj projection) ([]bson.D, error) {
	out := make([]bson.D, 0, len(blobs))
	for _, b := range blobs {
		doc, err := decodeDoc(b)
		if err != nil {
			return nil, fmt.Errorf("cached page: %w", err)
		}
		if proj != nil {
			doc = project(doc, proj)
		}
		out = append(out, doc)
	}
	return out, nil
}

func scanDoc(rows *sql.Rows) (bson.D, error) {
	var raw sql.RawBytes
	if err := rows.Scan(&raw); err != nil {
		return nil, err
	}
	return decodeDoc(raw)
}

// FindOne returns the first matching document in opts.Sort's order.
func (c *collection) FindOne(ctx context.Context, filter bson.D, opts docstore.FindOptions) (bson.D, error) {
	ctx, cancel := c.s.limits.Bound(ctx)
	defer cancel()
	var found bson.D
	_, err := c.s.query(ctx, c.name, filter, opts.Sort, "doc", page{limit: 1}, nil, func(rows *sql.Rows) error {
		doc, err := scanDoc(rows)
		found = doc
		return err
	})
	if err != nil {
		return nil, c.wrap("find one", err)
	}
	if found == nil {
		return nil, docstore.ErrNotFound
	}
	if proj := newProjection(opts.Projection); proj != nil {
		found = project(found, proj)
	}
	return found, nil
}

// Count is the number of matching documents.
func (c *collection) Count(ctx context.Context, filter bson.D) (int64, error) {
	ctx, cancel := c.s.limits.Bound(ctx)
	defer cancel()
	var n int64
	scan := func(rows *sql.Rows) error { return rows.Scan(&n) }
	if len(filter) == 0 {
		// Counting every row reads the smallest b-tree and no document: not a scan to bound.
		st := c.s.state(c.name)
		if st == nil {
			return 0, nil
		}
		err := c.s.run(ctx, true, `SELECT count(*) FROM `+st.table, nil, scan)
		if isNoSuchTable(err) {
			return 0, nil
		}
		return n, c.wrap("count", err)
	}
	_, err := c.s.query(ctx, c.name, filter, nil, "count(*)", page{}, nil, func(rows *sql.Rows) error {
		return rows.Scan(&n)
	})
	return n, c.wrap("count", err)
}

// Sum adds up the numeric values of field over the matching documents.
func (c *collection) Sum(ctx context.Context, filter bson.D, field string) (int64, error) {
	ctx, cancel := c.s.limits.Bound(ctx)
	defer cancel()
	jp, ok := jsonPath(field)
	if !ok || field == "" {
		return 0, nil
	}
	var total any
	sel := "sum(CASE WHEN json_type(doc," + jp + ") IN ('integer','real') THEN json_extract(doc," + jp + ") END)"
	_, err := c.s.query(ctx, c.name, filter, nil, sel, page{}, nil, func(rows *sql.Rows) error {
		return rows.Scan(&total)
	})
	if err != nil {
		return 0, c.wrap("sum", err)
	}
	switch t := total.(type) {
	case int64:
		return t, nil
	case float64:
		return int64(t), nil
	}
	return 0, nil
}

// docID checks a document's _id and returns it with the id column's value.
func docID(doc bson.D) (any, any, error) {
	id, ok := lookupKey(doc, "_id")
	if !ok {
		return nil, nil, errNoID
	}
	id = normalize(id)
	col, _, ok := idParam(id)
	if !ok {
		return nil, nil, errNoID
	}
	return id, col, nil
}

// idFirst returns doc with _id as its first field, as MongoDB stores it.
func idFirst(doc bson.D, id any) bson.D {
	out := make(bson.D, 0, len(doc)+1)
	out = append(out, bson.E{Key: "_id", Value: id})
	for _, e := range doc {
		if e.Key != "_id" {
			out = append(out, e)
		}
	}
	return out
}

// newRow is a document checked and encoded for insertion.
type newRow struct {
	col  any    // the id column's value
	doc  bson.D // the document, _id first
	blob []byte // doc encoded as stored
}

// prepareRow checks doc's _id and encodes it for insertion, outside the writer.
func prepareRow(doc bson.D) (newRow, error) {
	id, col, err := docID(doc)
	if err != nil {
		return newRow{}, err
	}
	doc = idFirst(doc, id)
	blob, err := encodeDoc(doc)
	if err != nil {
		return newRow{}, err
	}
	return newRow{col: col, doc: doc, blob: blob}, nil
}

// insertRows writes new documents into coll inside the writer's transaction; the first
// failure stops it and the caller's savepoint undoes the rows written before.
func (w *wtx) insertRows(coll string, rows []newRow) error {
	w.changed(coll)
	st, err := w.ensure(coll)
	if err != nil {
		return err
	}
	// One statement compiled for the whole batch.
	ins, err := w.conn.PrepareContext(w.ctx, `INSERT INTO `+st.table+` (id, doc) VALUES (?, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	for _, r := range rows {
		if err := w.noteArrays(st, r.doc); err != nil {
			return err
		}
		if err := w.checkUnique(st, r.doc, 0); err != nil {
			return err
		}
		_, err := ins.ExecContext(w.ctx, r.col, r.blob)
		if err := w.s.dupError(st, err); err != nil {
			return err
		}
	}
	return nil
}

// Insert stores a new document.
func (c *collection) Insert(ctx context.Context, doc bson.D) error {
	r, err := prepareRow(doc)
	if err != nil {
		return c.wrap("insert", err)
	}
	ctx, cancel := c.s.limits.Bound(ctx)
	defer cancel()
	err = c.s.write(ctx, func(w *wtx) error { return w.insertRows(c.name, []newRow{r}) })
	return c.wrap("insert", err)
}

// InsertMany stores new documents in one write: the writer runs each write in a savepoint of
// its own, so a failing document undoes the whole batch.
func (c *collection) InsertMany(ctx context.Context, docs []bson.D) error {
	if len(docs) == 0 {
		return nil
	}
	rows := make([]newRow, len(docs))
	for i, doc := range docs {
		r, err := prepareRow(doc)
		if err != nil {
			return c.wrap("insert many", fmt.Errorf("document %d: %w", i, err))
		}
		rows[i] = r
	}
	ctx, cancel := c.s.limits.Bound(ctx)
	defer cancel()
	err := c.s.write(ctx, func(w *wtx) error { return w.insertRows(c.name, rows) })
	return c.wrap("insert many", err)
}

// first marks coll as changed by this write and finds its first document matching filter
// inside the writer's transaction: ErrNotFound when there is none, or no such collection.
func (w *wtx) first(coll string, filter bson.D) (*collState, int64, bson.D, error) {
	w.changed(coll)
	st := w.s.state(coll)
	if st == nil {
		return nil, 0, nil, docstore.ErrNotFound
	}
	rowid, doc, err := w.firstIn(st, filter)
	return st, rowid, doc, err
}

// firstIn finds the first document of st matching filter.
func (w *wtx) firstIn(st *collState, filter bson.D) (int64, bson.D, error) {
	c := w.s.newCompiler(st)
	defer c.release()
	q, err := c.selectSQL(st, filter, nil, "rowid, doc", page{limit: 1})
	if err != nil {
		return 0, nil, err
	}
	var rowid int64
	var raw []byte
	err = w.conn.QueryRowContext(w.ctx, q, c.args...).Scan(&rowid, &raw)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, docstore.ErrNotFound
	}
	if err != nil {
		return 0, nil, err
	}
	doc, err := decodeDoc(raw)
	return rowid, doc, err
}

// rewrite stores doc in place of the row.
func (w *wtx) rewrite(st *collState, rowid int64, doc bson.D) error {
	blob, err := encodeDoc(doc)
	if err != nil {
		return err
	}
	if err := w.noteArrays(st, doc); err != nil {
		return err
	}
	if err := w.checkUnique(st, doc, rowid); err != nil {
		return err
	}
	_, err = w.conn.ExecContext(w.ctx, `UPDATE `+st.table+` SET doc=? WHERE rowid=?`, blob, rowid)
	return w.s.dupError(st, err)
}

// Replace swaps the first matching document for doc.
func (c *collection) Replace(ctx context.Context, filter bson.D, doc bson.D) (bson.D, error) {
	ctx, cancel := c.s.limits.Bound(ctx)
	defer cancel()
	var stored bson.D
	err := c.s.write(ctx, func(w *wtx) error {
		st, rowid, old, err := w.first(c.name, filter)
		if err != nil {
			return err
		}
		oldID, _ := lookupKey(old, "_id")
		if id, ok := lookupKey(doc, "_id"); ok && compareValues(id, oldID) != 0 {
			return invalidf("a replacement may not change _id")
		}
		stored = idFirst(doc, oldID)
		return w.rewrite(st, rowid, stored)
	})
	if err != nil {
		return nil, c.wrap("replace", err)
	}
	return stored, nil
}

// Update applies change to the first matching document, or inserts one on Upsert.
func (c *collection) Update(ctx context.Context, filter bson.D, change docstore.Change) (bson.D, error) {
	ctx, cancel := c.s.limits.Bound(ctx)
	defer cancel()
	var stored bson.D
	err := c.s.write(ctx, func(w *wtx) error {
		st, rowid, doc, err := w.first(c.name, filter)
		if errors.Is(err, docstore.ErrNotFound) && change.Upsert {
			return c.upsert(w, filter, change, &stored)
		}
		if err != nil {
			return err
		}
		if err := applyChange(&doc, change); err != nil {
			return err
		}
		stored = doc
		return w.rewrite(st, rowid, doc)
	})
	if err != nil {
		return nil, c.wrap("update", err)
	}
	return stored, nil
}

// upsert inserts the document an Update with Upsert makes when nothing matches: the filter's
// equality conditions, then the change.
func (c *collection) upsert(w *wtx, filter bson.D, change docstore.Change, stored *bson.D) error {
	doc := bson.D{}
	for _, e := range filter {
		if strings.HasPrefix(e.Key, "$") {
			continue
		}
		v := e.Value
		if ops, ok := isOperatorDoc(v); ok {
			eq, has := lookupKey(ops, "$eq")
			if !has {
				continue
			}
			v = eq
		}
		if err := setPath(&doc, strings.Split(e.Key, "."), v); err != nil {
			return err
		}
	}
	if err := applyChange(&doc, change); err != nil {
		return err
	}
	id, ok := lookupKey(doc, "_id")
	if !ok {
		id = bson.NewObjectID()
	}
	doc = idFirst(doc, id)
	_, col, err := docID(doc)
	if err != nil {
		return err
	}
	blob, err := encodeDoc(doc)
	if err != nil {
		return err
	}
	st, err := w.ensure(c.name)
	if err != nil {
		return err
	}
	if err := w.noteArrays(st, doc); err != nil {
		return err
	}
	if err := w.checkUnique(st, doc, 0); err != nil {
		return err
	}
	if _, err := w.conn.ExecContext(w.ctx, `INSERT INTO `+st.table+` (id, doc) VALUES (?, ?)`, col, blob); err != nil {
		return w.s.dupError(st, err)
	}
	*stored = doc
	return nil
}

// Delete removes the first matching document and returns it.
func (c *collection) Delete(ctx context.Context, filter bson.D) (bson.D, error) {
	ctx, cancel := c.s.limits.Bound(ctx)
	defer cancel()
	var doc bson.D
	err := c.s.write(ctx, func(w *wtx) error {
		st, rowid, d, err := w.first(c.name, filter)
		if err != nil {
			return err
		}
		doc = d
		_, err = w.conn.ExecContext(w.ctx, `DELETE FROM `+st.table+` WHERE rowid=?`, rowid)
		return err
	})
	if err != nil {
		return nil, c.wrap("delete", err)
	}
	return doc, nil
}

// DeleteMany removes every matching document.
func (c *collection) DeleteMany(ctx context.Context, filter bson.D) (int64, error) {
	ctx, cancel := c.s.limits.Bound(ctx)
	defer cancel()
	var n int64
	err := c.s.write(ctx, func(w *wtx) error {
		w.changed(c.name)
		st := c.s.state(c.name)
		if st == nil {
			return nil
		}
		cp := c.s.newCompiler(st)
		defer cp.release()
		where, err := cp.filter(filter, true)
		if err != nil {
			return err
		}
		res, err := w.conn.ExecContext(w.ctx, `DELETE FROM `+st.table+` WHERE `+where, cp.args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, c.wrap("delete", err)
	}
	return n, nil
}

// checkIndex validates an index definition and fills its default name.
func checkIndex(idx docstore.Index) (docstore.Index, error) {
	if len(idx.Fields) == 0 {
		return idx, invalidf("an index needs at least one field")
	}
	seen := map[string]bool{}
	for _, f := range idx.Fields {
		path, _ := docstore.IndexField(f)
		if path == "" || seen[path] || strings.IndexByte(path, 0) >= 0 {
			return idx, invalidf("index field %q is empty, repeated or invalid", f)
		}
		for _, part := range strings.Split(path, ".") {
			if part == "" || strings.HasPrefix(part, "$") {
				return idx, invalidf("index field %q is not a field path", f)
			}
		}
		seen[path] = true
	}
	if idx.Name == "" {
		idx.Name = docstore.IndexName(idx.Fields)
	}
	if idx.Name == "_id_" {
		return idx, docstore.ErrIndexExists
	}
	return idx, nil
}

// CreateIndex builds an expression index on the expressions the query compiler emits.
func (c *collection) CreateIndex(ctx context.Context, idx docstore.Index) error {
	idx, err := checkIndex(idx)
	if err != nil {
		return c.wrap("create index", err)
	}
	var exprs []string
	for _, f := range idx.Fields {
		e, err := indexExprs(f)
		if err != nil {
			return c.wrap("create index", err)
		}
		exprs = append(exprs, e...)
	}
	ctx, cancel := c.s.limits.Bound(ctx)
	defer cancel()
	err = c.s.write(ctx, func(w *wtx) error {
		st, err := w.ensure(c.name)
		if err != nil {
			return err
		}
		c.s.mu.RLock()
		for _, have := range st.indexes {
			if have.Name == idx.Name || slices.Equal(have.Fields, idx.Fields) {
				c.s.mu.RUnlock()
				return docstore.ErrIndexExists
			}
		}
		c.s.mu.RUnlock()
		var seq int64
		if err := w.conn.QueryRowContext(w.ctx, `SELECT ifnull(max(seq),0)+1 FROM docstore_indexes`).Scan(&seq); err != nil {
			return err
		}
		def := indexDef{Index: idx, sqlName: "ix_" + strconv.FormatInt(seq, 10)}
		unique := ""
		if idx.Unique {
			unique = "UNIQUE "
		}
		q := `CREATE ` + unique + `INDEX ` + quoteIdent(def.sqlName) + ` ON ` + st.table + ` (` + strings.Join(exprs, ", ") + `)`
		if _, err := w.conn.ExecContext(w.ctx, q); err != nil {
			if strings.Contains(err.Error(), "UNIQUE constraint failed") {
				return &docstore.DuplicateError{Index: idx.Name, Fields: indexPaths(idx.Fields)}
			}
			return err
		}
		if idx.Unique {
			if err := w.uniqueExisting(st, def); err != nil {
				return err
			}
		}
		fields, err := json.Marshal(idx.Fields)
		if err != nil {
			return err
		}
		if _, err := w.conn.ExecContext(w.ctx, `INSERT INTO docstore_indexes (seq, collection, name, sqlname, fields, uniq) VALUES (?, ?, ?, ?, ?, ?)`,
			seq, c.name, idx.Name, def.sqlName, string(fields), idx.Unique); err != nil {
			return err
		}
		c.s.mu.Lock()
		st.indexes = append(st.indexes, def)
		c.s.mu.Unlock()
		return nil
	})
	return c.wrap("create index", err)
}

// ListIndexes returns the collection's indexes by name.
func (c *collection) ListIndexes(ctx context.Context) ([]docstore.Index, error) {
	out := []docstore.Index{}
	st := c.s.state(c.name)
	if st == nil {
		return out, nil
	}
	c.s.mu.RLock()
	for _, def := range st.indexes {
		idx := def.Index
		idx.Fields = slices.Clone(idx.Fields)
		out = append(out, idx)
	}
	c.s.mu.RUnlock()
	slices.SortFunc(out, func(a, b docstore.Index) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// DropIndex removes an index by name.
func (c *collection) DropIndex(ctx context.Context, name string) error {
	ctx, cancel := c.s.limits.Bound(ctx)
	defer cancel()
	err := c.s.write(ctx, func(w *wtx) error {
		st := c.s.state(c.name)
		if st == nil {
			return docstore.ErrIndexNotFound
		}
		c.s.mu.RLock()
		at := slices.IndexFunc(st.indexes, func(d indexDef) bool { return d.Name == name })
		var def indexDef
		if at >= 0 {
			def = st.indexes[at]
		}
		c.s.mu.RUnlock()
		if at < 0 {
			return docstore.ErrIndexNotFound
		}
		if _, err := w.conn.ExecContext(w.ctx, `DROP INDEX IF EXISTS `+quoteIdent(def.sqlName)); err != nil {
			return err
		}
		if _, err := w.conn.ExecContext(w.ctx, `DELETE FROM docstore_indexes WHERE sqlname=?`, def.sqlName); err != nil {
			return err
		}
		c.s.mu.Lock()
		st.indexes = slices.DeleteFunc(st.indexes, func(d indexDef) bool { return d.sqlName == def.sqlName })
		c.s.mu.Unlock()
		return nil
	})
	return c.wrap("drop index", err)
}
