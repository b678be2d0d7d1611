// Package mongostore is the docstore engine on MongoDB, through the official driver: what a
// Swarm stack's API uses with its mongo:7 service. Filters, sorts and projections pass to the
// server as they are, so MongoDB's own semantics are the reference the other engine follows.
package mongostore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/backpackhq/backpack/tools/docstore"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"
)

// Store is one backend's database on a MongoDB server.
type Store struct {
	db     *mongo.Database
	limits docstore.Limits
	owned  bool // Close disconnects the client: Connect made it
}

var _ docstore.Store = (*Store)(nil)

// New wraps a database of a client the caller owns (and disconnects); Close leaves it open.
func New(db *mongo.Database, limits docstore.Limits) *Store {
	return &Store{db: db, limits: limits.WithDefaults()}
}

// reachTimeout is how long the driver looks for a server it has lost (server selection) and
// how long it waits for a new connection: a request arriving during an outage fails within it
// with docstore.ErrUnavailable (503 database_unavailable at the API) instead of waiting for
// the whole call timeout, and Swarm restarts Mongo in about this long anyway.
const reachTimeout = 2 * time.Second

// Connect opens a client to uri and returns the named database; Close disconnects it. A server
// that does not answer within the reach timeout (or the call timeout, if shorter) fails here,
// not at the first request. Writes are acknowledged once in the server's journal (j: true),
// so a Mongo killed right after answering still has every write it acknowledged; the URI's
// own w, journal, serverSelectionTimeoutMS and connectTimeoutMS, when given, win.
func Connect(ctx context.Context, uri, database string, limits docstore.Limits) (*Store, error) {
	limits = limits.WithDefaults()
	reach := min(reachTimeout, limits.CallTimeout)
	client, err := mongo.Connect(options.Client().
		SetWriteConcern(writeconcern.Journaled()).
		SetServerSelectionTimeout(reach).
		SetConnectTimeout(reach).
		ApplyURI(uri))
	if err != nil {
		return nil, fmt.Errorf("connect to MongoDB: %w", err)
	}
	s := &Store{db: client.Database(database), limits: limits, owned: true}
	if err := s.Ping(ctx); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("connect to MongoDB: %w", err)
	}
	return s, nil
}

// Database is the driver's handle, for tests and tools that need the server itself.
func (s *Store) Database() *mongo.Database { return s.db }

// Engine reports docstore.EngineMongo.
func (s *Store) Engine() string { return docstore.EngineMongo }

// Collection returns a handle; MongoDB creates the collection on its first write.
func (s *Store) Collection(name string) docstore.Collection {
	return &collection{coll: s.db.Collection(name), limits: s.limits}
}

// CreateCollection creates the collection unless it exists.
func (s *Store) CreateCollection(ctx context.Context, name string) error {
	ctx, cancel := s.limits.Bound(ctx)
	defer cancel()
	if err := s.db.CreateCollection(ctx, name); err != nil && !isNamespaceExists(err) {
		return fmt.Errorf("create collection %s: %w", name, reachable(err))
	}
	return nil
}

// DropCollection drops the collection with its indexes; a missing one is not an error.
func (s *Store) DropCollection(ctx context.Context, name string) error {
	ctx, cancel := s.limits.Bound(ctx)
	defer cancel()
	if err := s.db.Collection(name).Drop(ctx); err != nil {
		return fmt.Errorf("drop collection %s: %w", name, reachable(err))
	}
	return nil
}

// ListCollections names the database's collections, sorted.
func (s *Store) ListCollections(ctx context.Context) ([]string, error) {
	ctx, cancel := s.limits.Bound(ctx)
	defer cancel()
	names, err := s.db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("list collections: %w", reachable(err))
	}
	slices.Sort(names)
	return names, nil
}

// Ping asks the server to answer.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.limits.Bound(ctx)
	defer cancel()
	return reachable(s.db.Client().Ping(ctx, nil))
}

// Close disconnects the client if Connect opened it.
func (s *Store) Close(ctx context.Context) error {
	if !s.owned {
		return nil
	}
	return s.db.Client().Disconnect(ctx)
}

type collection struct {
	coll   *mongo.Collection
	limits docstore.Limits
}

// orEmpty gives the driver an empty filter for a nil one, which not every command encodes.
func orEmpty(f bson.D) bson.D {
	if f == nil {
		return bson.D{}
	}
	return f
}

func (c *collection) Find(ctx context.Context, filter bson.D, o docstore.FindOptions) ([]bson.D, error) {
	ctx, cancel := c.limits.Bound(ctx)
	defer cancel()
	opts := options.Find()
	if o.Limit > 0 {
		opts.SetLimit(o.Limit)
	}
	if o.Skip > 0 {
		opts.SetSkip(o.Skip)
	}
	if o.Sort != nil {
		opts.SetSort(o.Sort)
	}
	if o.Projection != nil {
		opts.SetProjection(o.Projection)
	}
	cur, err := c.coll.Find(ctx, orEmpty(filter), opts)
	if err != nil {
		return nil, queryError("find", c.coll.Name(), err)
	}
	docs := []bson.D{}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, queryError("find", c.coll.Name(), err)
	}
	return docs, nil
}

func (c *collection) FindOne(ctx context.Context, filter bson.D, o docstore.FindOptions) (bson.D, error) {
	ctx, cancel := c.limits.Bound(ctx)
	defer cancel()
	opts := options.FindOne()
	if o.Sort != nil {
		opts.SetSort(o.Sort)
	}
	if o.Projection != nil {
		opts.SetProjection(o.Projection)
	}
	var doc bson.D
	if err := c.coll.FindOne(ctx, orEmpty(filter), opts).Decode(&doc); err != nil {
		return nil, queryError("find one", c.coll.Name(), err)
	}
	return doc, nil
}

func (c *collection) Count(ctx context.Context, filter bson.D) (int64, error) {
	ctx, cancel := c.limits.Bound(ctx)
	defer cancel()
	n, err := c.coll.CountDocuments(ctx, orEmpty(filter))
	if err != nil {
		return 0, queryError("count", c.coll.Name(), err)
	}
	return n, nil
}

func (c *collection) Sum(ctx context.Context, filter bson.D, field string) (int64, error) {
	ctx, cancel := c.limits.Bound(ctx)
	defer cancel()
	cur, err := c.coll.Aggregate(ctx, mongo.Pipeline{
		{{Key: "$match", Value: orEmpty(filter)}},
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: nil}, {Key: "total", Value: bson.D{{Key: "$sum", Value: "$" + field}}}}}},
	})
	if err != nil {
		return 0, queryError("sum", c.coll.Name(), err)
	}
	var rows []bson.M
	if err := cur.All(ctx, &rows); err != nil {
		return 0, queryError("sum", c.coll.Name(), err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	switch t := rows[0]["total"].(type) {
	case int32:
		return int64(t), nil
	case int64:
		return t, nil
	case float64:
		return int64(t), nil
	}
	return 0, nil
}

func (c *collection) Insert(ctx context.Context, doc bson.D) error {
	ctx, cancel := c.limits.Bound(ctx)
	defer cancel()
	if _, err := c.coll.InsertOne(ctx, doc); err != nil {
		return c.writeError(ctx, "insert", err, doc)
	}
	return nil
}

// InsertMany inserts docs in order with one command. MongoDB keeps the documents inserted
// before a failing one (it has no all-or-nothing without a transaction, and FerretDB has no
// transactions), so on failure the documents of docs already inserted are deleted again: those
// before the one the server refused, when its answer names it (a duplicate, an invalid
// document); otherwise (a lost connection, a deadline) every document found stored exactly as
// docs has it, which would also delete an identical document stored before the call.
func (c *collection) InsertMany(ctx context.Context, docs []bson.D) error {
	if len(docs) == 0 {
		return nil
	}
	for i, doc := range docs {
		if _, ok := lookup(doc, "_id"); !ok {
			return fmt.Errorf("insert many in %s: document %d: %w", c.coll.Name(), i, errNoID)
		}
	}
	ctx, cancel := c.limits.Bound(ctx)
	defer cancel()
	_, err := c.coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(true))
	if err == nil {
		return nil
	}
	undo, cancelUndo := c.limits.Bound(context.WithoutCancel(ctx))
	defer cancelUndo()
	stop, known := failedAt(err)
	var ids bson.A
	if known {
		err = c.writeError(undo, "insert", err, docs[stop])
		for _, doc := range docs[:stop] {
			id, _ := lookup(doc, "_id")
			ids = append(ids, id)
		}
	} else {
		err = queryError("insert many", c.coll.Name(), err)
		var ferr error
		if ids, ferr = c.storedAsGiven(undo, docs); ferr != nil {
			return errors.Join(err, ferr)
		}
	}
	if len(ids) == 0 {
		return err
	}
	if _, derr := c.coll.DeleteMany(undo, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}); derr != nil {
		return errors.Join(err, fmt.Errorf("insert many in %s: delete the documents inserted before the failure: %w", c.coll.Name(), derr))
	}
	return err
}

// failedAt is the position in an ordered InsertMany of the document the server refused, when
// its answer says so: the documents before it were inserted, none after.
func failedAt(err error) (int, bool) {
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || len(bwe.WriteErrors) == 0 {
		return 0, false
	}
	return bwe.WriteErrors[0].Index, true
}

// storedAsGiven returns the _ids of the documents of docs that are stored with exactly the
// fields and values docs gives them (_id first, as the server stores it).
func (c *collection) storedAsGiven(ctx context.Context, docs []bson.D) (bson.A, error) {
	given := make(map[string]bool, len(docs))
	ids := make(bson.A, 0, len(docs))
	for _, doc := range docs {
		id, _ := lookup(doc, "_id")
		ids = append(ids, id)
		b, err := bson.Marshal(idFirst(doc, id))
		if err != nil {
			return nil, fmt.Errorf("insert many in %s: %w", c.coll.Name(), err)
		}
		given[string(b)] = true
	}
	cur, err := c.coll.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	if err != nil {
		return nil, fmt.Errorf("insert many in %s: find the documents inserted before the failure: %w", c.coll.Name(), err)
	}
	defer cur.Close(ctx)
	var stored bson.A
	for cur.Next(ctx) {
		if given[string(cur.Current)] {
			stored = append(stored, cur.Current.Lookup("_id"))
		}
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("insert many in %s: find the documents inserted before the failure: %w", c.coll.Name(), err)
	}
	return stored, nil
}

// idFirst returns doc with _id as its first field, as the server stores it.
func idFirst(doc bson.D, id any) bson.D {
	out := append(make(bson.D, 0, len(doc)), bson.E{Key: "_id", Value: id})
	for _, e := range doc {
		if e.Key != "_id" {
			out = append(out, e)
		}
	}
	return out
}

// errNoID refuses a document without an _id, which the driver would otherwise give one.
var errNoID = errors.New("document needs an _id")

func (c *collection) Replace(ctx context.Context, filter bson.D, doc bson.D) (bson.D, error) {
	ctx, cancel := c.limits.Bound(ctx)
	defer cancel()
	var out bson.D
	err := c.coll.FindOneAndReplace(ctx, orEmpty(filter), doc, options.FindOneAndReplace().SetReturnDocument(options.After)).Decode(&out)
	if err != nil {
		return nil, c.writeError(ctx, "replace", err, doc)
	}
	return out, nil
}

func (c *collection) Update(ctx context.Context, filter bson.D, ch docstore.Change) (bson.D, error) {
	ctx, cancel := c.limits.Bound(ctx)
	defer cancel()
	update := bson.D{}
	if len(ch.Set) > 0 {
		update = append(update, bson.E{Key: "$set", Value: ch.Set})
	}
	if len(ch.Push) > 0 {
		update = append(update, bson.E{Key: "$push", Value: ch.Push})
	}
	if len(update) == 0 {
		return c.FindOne(ctx, filter, docstore.FindOptions{})
	}
	var out bson.D
	opts := options.FindOneAndUpdate().SetReturnDocument(options.After).SetUpsert(ch.Upsert)
	if err := c.coll.FindOneAndUpdate(ctx, orEmpty(filter), update, opts).Decode(&out); err != nil {
		return nil, c.writeError(ctx, "update", err, c.afterSet(ctx, filter, ch.Set))
	}
	return out, nil
}

// afterSet is what a refused update would have made of the document filter matches, as far
// as writeError needs it: the fields set, over the stored document (the fields set alone when
// it cannot be read). Dotted paths set are kept as they are, which lookup finds first.
func (c *collection) afterSet(ctx context.Context, filter, set bson.D) bson.D {
	var current bson.D
	if err := c.coll.FindOne(context.WithoutCancel(ctx), orEmpty(filter)).Decode(&current); err != nil {
		return set
	}
	out := append(bson.D{}, set...)
	for _, e := range current {
		if _, ok := lookup(set, e.Key); !ok {
			out = append(out, e)
		}
	}
	return out
}

func (c *collection) Delete(ctx context.Context, filter bson.D) (bson.D, error) {
	ctx, cancel := c.limits.Bound(ctx)
	defer cancel()
	var out bson.D
	if err := c.coll.FindOneAndDelete(ctx, orEmpty(filter)).Decode(&out); err != nil {
		return nil, queryError("delete", c.coll.Name(), err)
	}
	return out, nil
}

func (c *collection) DeleteMany(ctx context.Context, filter bson.D) (int64, error) {
	ctx, cancel := c.limits.Bound(ctx)
	defer cancel()
	res, err := c.coll.DeleteMany(ctx, orEmpty(filter))
	if err != nil {
		return 0, queryError("delete", c.coll.Name(), err)
	}
	return res.DeletedCount, nil
}

func (c *collection) CreateIndex(ctx context.Context, idx docstore.Index) error {
	ctx, cancel := c.limits.Bound(ctx)
	defer cancel()
	if idx.Name == "" {
		idx.Name = docstore.IndexName(idx.Fields)
	}
	existing, err := c.ListIndexes(ctx)
	if err != nil {
		return err
	}
	for _, e := range existing {
		if e.Name == idx.Name {
			return docstore.ErrIndexExists
		}
	}
	keys := bson.D{}
	for _, f := range idx.Fields {
		path, desc := docstore.IndexField(f)
		dir := 1
		if desc {
			dir = -1
		}
		keys = append(keys, bson.E{Key: path, Value: dir})
	}
	_, err = c.coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: keys, Options: options.Index().SetName(idx.Name).SetUnique(idx.Unique)})
	if err != nil {
		if isDuplicateKey(err) {
			return &docstore.DuplicateError{Index: idx.Name, Fields: indexPaths(idx.Fields)}
		}
		if isIndexConflict(err) {
			return docstore.ErrIndexExists
		}
		return fmt.Errorf("create index %s on %s: %w", idx.Name, c.coll.Name(), reachable(err))
	}
	return nil
}

func (c *collection) ListIndexes(ctx context.Context) ([]docstore.Index, error) {
	ctx, cancel := c.limits.Bound(ctx)
	defer cancel()
	specs, err := c.coll.Indexes().ListSpecifications(ctx)
	if err != nil {
		if isNamespaceNotFound(err) {
			return []docstore.Index{}, nil
		}
		return nil, fmt.Errorf("list indexes of %s: %w", c.coll.Name(), reachable(err))
	}
	out := []docstore.Index{}
	for _, spec := range specs {
		if spec.Name == "_id_" {
			continue
		}
		var keys bson.D
		if err := bson.Unmarshal(spec.KeysDocument, &keys); err != nil {
			return nil, fmt.Errorf("list indexes of %s: %w", c.coll.Name(), reachable(err))
		}
		idx := docstore.Index{Name: spec.Name, Unique: spec.Unique != nil && *spec.Unique}
		for _, k := range keys {
			if isDescending(k.Value) {
				idx.Fields = append(idx.Fields, "-"+k.Key)
			} else {
				idx.Fields = append(idx.Fields, k.Key)
			}
		}
		out = append(out, idx)
	}
	slices.SortFunc(out, func(a, b docstore.Index) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (c *collection) DropIndex(ctx context.Context, name string) error {
	ctx, cancel := c.limits.Bound(ctx)
	defer cancel()
	if name == "_id_" {
		return docstore.ErrIndexNotFound
	}
	if err := c.coll.Indexes().DropOne(ctx, name); err != nil {
		var ce mongo.CommandError
		if errors.As(err, &ce) && (ce.Code == 27 || ce.Code == 26) { // IndexNotFound, NamespaceNotFound
			return docstore.ErrIndexNotFound
		}
		return fmt.Errorf("drop index %s on %s: %w", name, c.coll.Name(), reachable(err))
	}
	return nil
}

// writeError turns a duplicate key into a *docstore.DuplicateError naming the index, so the
// API can say which fields clash. MongoDB names the index in its message; FerretDB does not,
// so without a name the clash is found by looking: the written document's _id, then each
// unique index's values (doc is the document as written; for an update, the fields it set).
func (c *collection) writeError(ctx context.Context, op string, err error, doc bson.D) error {
	if !isDuplicateKey(err) {
		return queryError(op, c.coll.Name(), err)
	}
	ctx = context.WithoutCancel(ctx)
	primary := &docstore.DuplicateError{Index: "_id", Fields: []string{"_id"}}
	msg := err.Error()
	if strings.Contains(msg, "index: _id_ ") {
		return primary
	}
	indexes, lerr := c.ListIndexes(ctx)
	if lerr != nil {
		return primary
	}
	for _, idx := range indexes {
		if strings.Contains(msg, "index: "+idx.Name+" ") {
			return &docstore.DuplicateError{Index: idx.Name, Fields: indexPaths(idx.Fields)}
		}
	}
	if id, ok := lookup(doc, "_id"); ok && op == "insert" {
		if n, cerr := c.coll.CountDocuments(ctx, bson.D{{Key: "_id", Value: id}}); cerr == nil && n > 0 {
			return primary
		}
	}
	for _, idx := range indexes {
		if !idx.Unique {
			continue
		}
		same := bson.D{}
		for _, path := range indexPaths(idx.Fields) {
			v, _ := lookup(doc, path)
			same = append(same, bson.E{Key: path, Value: v})
		}
		if n, cerr := c.coll.CountDocuments(ctx, same); cerr == nil && n > 0 {
			return &docstore.DuplicateError{Index: idx.Name, Fields: indexPaths(idx.Fields)}
		}
	}
	return primary
}

// lookup finds a top-level field, or a dotted path through nested documents.
func lookup(doc bson.D, path string) (any, bool) {
	head, rest, nested := strings.Cut(path, ".")
	for _, e := range doc {
		if e.Key == path {
			return e.Value, true
		}
		if nested && e.Key == head {
			if sub, ok := e.Value.(bson.D); ok {
				return lookup(sub, rest)
			}
		}
	}
	return nil, false
}

// queryError maps the driver's no-document answer to docstore.ErrNotFound, a server's
// refusal of a query (a regular expression its engine rejects, say) to
// docstore.ErrInvalidQuery, keeping the server's message out of what clients see, and a
// server out of reach to docstore.ErrUnavailable.
func queryError(op, coll string, err error) error {
	if errors.Is(err, mongo.ErrNoDocuments) {
		return docstore.ErrNotFound
	}
	var ce mongo.CommandError
	if errors.As(err, &ce) && badQueryCodes[ce.Code] && !ce.HasErrorLabel("NetworkError") {
		return fmt.Errorf("%s in %s: %w (%s)", op, coll, docstore.ErrInvalidQuery, ce.Message)
	}
	if unreachable(err) {
		return fmt.Errorf("%s in %s: %w: %w", op, coll, docstore.ErrUnavailable, err)
	}
	if mongo.IsTimeout(err) {
		return fmt.Errorf("%s in %s: %w: %w", op, coll, context.DeadlineExceeded, err)
	}
	return fmt.Errorf("%s in %s: %w", op, coll, err)
}

// badQueryCodes are the server's answers that blame the query itself, not the server: a value
// or pattern it cannot use, parallel arrays in a sort, a sort too large for memory. Anything
// else (a failover, a network error, a shutdown) is the server's trouble, not the client's.
var badQueryCodes = map[int32]bool{
	2:     true, // BadValue
	9:     true, // FailedToParse
	14:    true, // TypeMismatch
	292:   true, // QueryExceededMemoryLimitNoDiskUseAllowed
	31249: true, // path collision in a projection
	31250: true, // path collision in a projection
	51075: true, // invalid $regex options
	51091: true, // invalid regular expression
	51108: true, // invalid $regex flag
}

func indexPaths(fields []string) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i], _ = docstore.IndexField(f)
	}
	return out
}

func isDescending(v any) bool {
	switch n := v.(type) {
	case int32:
		return n < 0
	case int64:
		return n < 0
	case float64:
		return n < 0
	}
	return false
}

// isDuplicateKey is a write or an index build refused by a unique index. MongoDB says so with
// code 11000; FerretDB does for inserts, but a findAndModify or a createIndexes that breaks a
// unique index comes back from it as an InternalError carrying SQLite's message, which would
// otherwise reach clients as an invalid query instead of a duplicate.
func isDuplicateKey(err error) bool {
	if mongo.IsDuplicateKeyError(err) {
		return true
	}
	var ce mongo.CommandError
	return errors.As(err, &ce) && strings.Contains(ce.Message, "UNIQUE constraint failed")
}

func isNamespaceExists(err error) bool {
	var ce mongo.CommandError
	return errors.As(err, &ce) && ce.Code == 48
}

func isNamespaceNotFound(err error) bool {
	var ce mongo.CommandError
	return errors.As(err, &ce) && ce.Code == 26
}

// isIndexConflict is MongoDB refusing an index whose name or keys another index has with
// other options (IndexOptionsConflict, IndexKeySpecsConflict).
func isIndexConflict(err error) bool {
	var ce mongo.CommandError
	return errors.As(err, &ce) && (ce.Code == 85 || ce.Code == 86)
}

// unreachable reports whether err says the server is out of reach rather than that it refused
// or took long over the operation: no server could be selected (it is down, restarting, or
// its address is gone), a connection could not be made, or one broke (the server was killed
// mid-request; the write may or may not have happened, which the client learns from a 503
// rather than a 500). A network timeout on an established connection, and a connection the
// call's own deadline broke, are left to the caller's deadline handling: they are as likely a
// slow query as a lost server.
func unreachable(err error) bool {
	if err == nil {
		return false
	}
	if errors.As(err, &topology.ServerSelectionError{}) {
		return true
	}
	if mongo.IsTimeout(err) || errors.Is(err, context.DeadlineExceeded) {
		return false // the call's own deadline cut the connection: slow, not out of reach
	}
	return errors.As(err, &topology.ConnectionError{}) || mongo.IsNetworkError(err)
}

// reachable wraps err with docstore.ErrUnavailable when it says the server is out of reach.
func reachable(err error) error {
	if unreachable(err) {
		return fmt.Errorf("%w: %w", docstore.ErrUnavailable, err)
	}
	return err
}
