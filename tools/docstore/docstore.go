// Package docstore is the document store under every backend: one interface, two engines.
// MongoDB (package mongostore) serves Swarm stacks, whose mongo:7 service scales on its own;
// SQLite (package sqlitestore) serves the embedded default and the local runtime, one file per
// backend, with nothing else to run. Everything above this package — collections and their
// rules, documents, users, files, settings, channels — is written once against Store and
// Collection, and the conformance suite (package docstoretest) holds both engines to the same
// behaviour.
//
// Documents are bson.D: ordered, and able to carry the types the API stores (strings, numbers,
// booleans, null, arrays, objects, ObjectIDs and dates). Filters, sorts and projections are
// the subset of MongoDB's query language that tools/filter lets clients send, plus the same
// operators in filters the server builds itself; both engines give them MongoDB's semantics
// (arrays match by element, a missing field equals null, comparisons only match values of the
// same type class, sort follows MongoDB's type order).
package docstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Engine names, as configured (BACKPACK_DB_ENGINE) and as Store.Engine reports them.
const (
	EngineMongo  = "mongo"
	EngineSQLite = "sqlite"
)

// Limits bound what one engine call may take, so that no client query can hold the
// database for long or crowd out the others.
type Limits struct {
	// CallTimeout is the deadline given to an engine call whose context has none, or a later
	// one (default DefaultCallTimeout).
	CallTimeout time.Duration
	// MaxConcurrentScans is how many queries that no index serves (they read the whole
	// collection) may run at once; others wait for a place until their deadline (default
	// DefaultMaxConcurrentScans). The mongo engine leaves this to the server.
	MaxConcurrentScans int
}

// Defaults of Limits.
const (
	DefaultCallTimeout        = 10 * time.Second
	DefaultMaxConcurrentScans = 4
)

// WithDefaults fills zero fields.
func (l Limits) WithDefaults() Limits {
	if l.CallTimeout <= 0 {
		l.CallTimeout = DefaultCallTimeout
	}
	if l.MaxConcurrentScans <= 0 {
		l.MaxConcurrentScans = DefaultMaxConcurrentScans
	}
	return l
}

// Bound gives ctx the limits' deadline unless it already ends sooner.
func (l Limits) Bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= l.CallTimeout {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, l.CallTimeout)
}

// Store is one backend's database.
type Store interface {
	// Collection returns a handle on a collection, which need not exist yet: reading a missing
	// collection finds nothing, and writing to it creates it.
	Collection(name string) Collection
	// CreateCollection makes sure a collection exists; an existing one is left as it is.
	CreateCollection(ctx context.Context, name string) error
	// DropCollection deletes a collection with its documents and indexes; a missing one is
	// not an error.
	DropCollection(ctx context.Context, name string) error
	// ListCollections names every collection, internal ones included, sorted.
	ListCollections(ctx context.Context) ([]string, error)
	// Ping tells whether the database answers.
	Ping(ctx context.Context) error
	// Engine is EngineMongo or EngineSQLite.
	Engine() string
	// Close releases the store's connections and files.
	Close(ctx context.Context) error
}

// Collection is a set of documents, each with a unique _id.
type Collection interface {
	// Find returns the documents matching filter, sorted, projected and paged as opts says.
	Find(ctx context.Context, filter bson.D, opts FindOptions) ([]bson.D, error)
	// FindOne returns the first document matching filter in opts.Sort's order, or ErrNotFound.
	// opts.Skip and opts.Limit are ignored.
	FindOne(ctx context.Context, filter bson.D, opts FindOptions) (bson.D, error)
	// Count is the number of documents matching filter.
	Count(ctx context.Context, filter bson.D) (int64, error)
	// Sum adds up the numeric values of field over the documents matching filter (other
	// values count as 0).
	Sum(ctx context.Context, filter bson.D, field string) (int64, error)
	// Insert stores a new document, which must have an _id; a taken _id or a value a unique
	// index already holds gives a *DuplicateError.
	Insert(ctx context.Context, doc bson.D) error
	// InsertMany stores new documents in one call, as many Inserts would but without a round
	// trip each (a restore loads whole collections this way). It is all or nothing: every
	// document must have an _id, and if any _id or unique index value is taken, by a stored
	// document or by an earlier document of docs, it gives a *DuplicateError as Insert does and
	// stores none of docs. An empty docs is a no-op.
	InsertMany(ctx context.Context, docs []bson.D) error
	// Replace swaps the first document matching filter for doc, which keeps its _id, and
	// returns doc as stored; ErrNotFound when nothing matches. Filters on fields beside _id
	// make it a compare-and-swap.
	Replace(ctx context.Context, filter bson.D, doc bson.D) (bson.D, error)
	// Update applies change to the first document matching filter and returns the document
	// after it; ErrNotFound when nothing matches (unless change.Upsert).
	Update(ctx context.Context, filter bson.D, change Change) (bson.D, error)
	// Delete removes the first document matching filter and returns it; ErrNotFound when
	// nothing matches.
	Delete(ctx context.Context, filter bson.D) (bson.D, error)
	// DeleteMany removes every document matching filter and says how many there were.
	DeleteMany(ctx context.Context, filter bson.D) (int64, error)
	// CreateIndex builds an index. An index with the same name gives ErrIndexExists; a unique
	// index over values that already repeat gives a *DuplicateError and nothing is created.
	CreateIndex(ctx context.Context, idx Index) error
	// ListIndexes returns the collection's indexes but the engine's own one on _id, by name.
	ListIndexes(ctx context.Context) ([]Index, error)
	// DropIndex removes an index by name; ErrIndexNotFound when there is none.
	DropIndex(ctx context.Context, name string) error
}

// FindOptions shape a Find. The zero value returns every field of every match in the
// engine's natural order.
type FindOptions struct {
	// Sort lists field paths with 1 (ascending) or -1 (descending), most significant first.
	Sort bson.D
	// Projection lists the field paths to return, each with 1; _id is always returned. Nil
	// returns every field.
	Projection bson.D
	// Skip passes over that many matches first; Limit returns at most that many (0: no limit).
	Skip, Limit int64
}

// Change is an update: fields to set (dotted paths reach into objects, creating them as
// needed) and values to append to array fields.
type Change struct {
	Set  bson.D
	Push bson.D
	// Upsert inserts a document when nothing matches: the filter's equality conditions on
	// top-level fields, then Set and Push applied to it.
	Upsert bool
}

// Index is a secondary index over one or more field paths.
type Index struct {
	// Name identifies the index within its collection; IndexName gives the default one.
	Name string `json:"name"`
	// Fields are field paths, each prefixed with "-" when descending.
	Fields []string `json:"fields"`
	// Unique refuses a second document with the same values on every field.
	Unique bool `json:"unique"`
}

// IndexName is the name an index gets when none is given, as MongoDB names it: each field
// with its direction, joined by underscores ("-n", "title" → "n_-1_title_1").
func IndexName(fields []string) string {
	parts := make([]string, 0, 2*len(fields))
	for _, f := range fields {
		path, desc := IndexField(f)
		dir := "1"
		if desc {
			dir = "-1"
		}
		parts = append(parts, path, dir)
	}
	return strings.Join(parts, "_")
}

// IndexField splits an index field into its path and whether it is descending.
func IndexField(field string) (path string, desc bool) {
	if rest, ok := strings.CutPrefix(field, "-"); ok {
		return rest, true
	}
	return field, false
}

// Errors every engine returns for the same conditions.
var (
	ErrNotFound      = errors.New("docstore: no document matches")
	ErrIndexExists   = errors.New("docstore: an index with this name already exists")
	ErrIndexNotFound = errors.New("docstore: no index has this name")
	// ErrInvalidQuery is wrapped when the engine refuses a query the filter package let
	// through (a regular expression its engine cannot run, say): the client's fault, not the
	// server's.
	ErrInvalidQuery = errors.New("docstore: the database could not run this query")
	// ErrUnavailable is wrapped when the database cannot be reached (down, restarting, its
	// connection broken): the request may be retried once it is back, the API answers 503
	// database_unavailable.
	ErrUnavailable = errors.New("docstore: the database is unreachable")
)

// DuplicateError is a write, or a unique index, that would give two documents the same _id
// or the same values on a unique index's fields.
type DuplicateError struct {
	// Index names the index that refused it ("_id" for the primary key).
	Index string
	// Fields are the index's field paths, without direction.
	Fields []string
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("docstore: duplicate value for %s (index %s)", strings.Join(e.Fields, ", "), e.Index)
}

// IsDuplicate tells whether err is, or wraps, a *DuplicateError.
func IsDuplicate(err error) bool {
	var d *DuplicateError
	return errors.As(err, &d)
}

// Decode fills v (a pointer to a struct with bson tags) from a document.
func Decode(doc bson.D, v any) error {
	b, err := bson.Marshal(doc)
	if err != nil {
		return fmt.Errorf("decode document: %w", err)
	}
	if err := bson.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode document: %w", err)
	}
	return nil
}

// Encode turns v (a struct with bson tags, or a map) into a document, fields in order.
func Encode(v any) (bson.D, error) {
	b, err := bson.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode document: %w", err)
	}
	var doc bson.D
	if err := bson.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("encode document: %w", err)
	}
	return doc, nil
}
