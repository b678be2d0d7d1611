package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/filter"
)

// Indexes are the developer's choice, made on the admin port (in the admin panel or by the
// control plane), never an end user's: an index costs every write of its collection and, when
// unique, decides which writes succeed.

// KindIndex is the admin stream's kind for an index created or dropped; end users never get it.
const KindIndex = "index"

// Caps on an index request.
const (
	// maxIndexFields is the most fields one index may have: as many as a sort may name, since
	// a longer index serves no query the API can send better than its first eight fields do.
	maxIndexFields = 8
	// maxIndexNameBytes bounds a name given by the caller (a default name follows its fields).
	maxIndexNameBytes = 128
	// MaxIndexes bounds a collection's indexes (the one on _id aside): each one costs every
	// write, and MongoDB stops at 64.
	MaxIndexes = 32
)

// Refusals of the index operations.
var (
	ErrIndexExists   = newError(Conflict, "index_exists", "the collection already has an index with this name or these fields")
	ErrIndexNotFound = newError(NotFound, "index_not_found", "no such index")
)

func invalidIndex(format string, args ...any) error {
	return invalid("invalid_index", fmt.Sprintf(format, args...))
}

// IndexRequest is an index asked for (the body of POST /admin/collections/:name/indexes).
type IndexRequest struct {
	Fields []string `json:"fields"`
	Unique bool     `json:"unique"`
	Name   string   `json:"name"`
}

// index checks the request and returns the index to build, named as docstore.IndexName
// names it unless the request gives a name. Field paths follow the rules of filters and sorts,
// each with an optional "-" for descending.
func (r IndexRequest) index() (docstore.Index, error) {
	switch {
	case len(r.Fields) == 0:
		return docstore.Index{}, invalidIndex("fields must list at least one field path")
	case len(r.Fields) > maxIndexFields:
		return docstore.Index{}, invalidIndex("an index has at most %d fields", maxIndexFields)
	}
	seen := map[string]bool{}
	for _, f := range r.Fields {
		path, desc := docstore.IndexField(f)
		if desc && path == "" {
			return docstore.Index{}, invalidIndex("fields: %q must be followed by a field path", "-")
		}
		if err := filter.CheckPath(path); err != nil {
			return docstore.Index{}, invalidIndex("fields: %v", err)
		}
		if seen[path] {
			return docstore.Index{}, invalidIndex("fields: %q is listed more than once", path)
		}
		seen[path] = true
	}
	if len(r.Fields) == 1 && seen["_id"] {
		return docstore.Index{}, invalidIndex("_id has its own unique index already")
	}
	name := r.Name
	if name == "" {
		name = docstore.IndexName(r.Fields)
	} else if err := checkIndexName(name); err != nil {
		return docstore.Index{}, err
	}
	return docstore.Index{Name: name, Fields: r.Fields, Unique: r.Unique}, nil
}

// checkIndexName accepts a name the caller chose: printable UTF-8 of at most
// maxIndexNameBytes, neither "*" (MongoDB's "every index"), the engine's own "_id_", nor "."
// or ".." (which no URL path can carry through the control plane's proxy), and not starting
// with "$".
func checkIndexName(name string) error {
	switch {
	case len(name) > maxIndexNameBytes:
		return invalidIndex("name is longer than %d bytes", maxIndexNameBytes)
	case !utf8.ValidString(name):
		return invalidIndex("name is not valid UTF-8")
	case strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return invalidIndex("name must not contain control characters or white space other than spaces")
	case name == "*" || name == "_id_" || name == "." || name == ".." || strings.HasPrefix(name, "$"):
		return invalidIndex("name %q is reserved", name)
	}
	return nil
}

// indexedCollection is the engine's handle on a registered collection, for its indexes. API
// internal collections (_users…) are not registered, so they answer collection_not_found.
func (s *Service) indexedCollection(ctx context.Context, name string) (docstore.Collection, error) {
	info, err := s.collections.lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	return s.store.Collection(info.Name), nil
}

// ListIndexes lists a collection's indexes, the engine's own on _id aside.
func (s *Service) ListIndexes(ctx context.Context, collection string) ([]docstore.Index, error) {
	coll, err := s.indexedCollection(ctx, collection)
	if err != nil {
		return nil, err
	}
	idxs, err := coll.ListIndexes(ctx)
	if err != nil {
		return nil, fmt.Errorf("list indexes of %s: %w", collection, err)
	}
	return idxs, nil
}

// CreateIndex checks the request, builds the index and waits until it is there. A unique
// index over values that already repeat is refused (duplicate_values) and nothing is built.
func (s *Service) CreateIndex(ctx context.Context, collection string, req IndexRequest) (docstore.Index, error) {
	idx, err := req.index()
	if err != nil {
		return docstore.Index{}, err
	}
	coll, err := s.indexedCollection(ctx, collection)
	if err != nil {
		return docstore.Index{}, err
	}
	existing, err := coll.ListIndexes(ctx)
	if err != nil {
		return docstore.Index{}, fmt.Errorf("list indexes of %s: %w", collection, err)
	}
	if len(existing) >= MaxIndexes {
		return docstore.Index{}, newError(Conflict, "too_many_indexes", fmt.Sprintf("a collection has at most %d indexes; delete one first", MaxIndexes))
	}
	var dup *docstore.DuplicateError
	switch err := coll.CreateIndex(ctx, idx); {
	case errors.Is(err, docstore.ErrIndexExists):
		return docstore.Index{}, ErrIndexExists
	case errors.As(err, &dup):
		return docstore.Index{}, &Error{Kind: Conflict, Code: "duplicate_values",
			Message: fmt.Sprintf("some documents share the same values of %s, so a unique index cannot be built; change or delete them first", strings.Join(dup.Fields, ", ")),
			Details: map[string]any{"fields": dup.Fields}}
	case err != nil:
		return docstore.Index{}, fmt.Errorf("create index %s on %s: %w", idx.Name, collection, err)
	}
	s.publishIndex(ctx, "create", collection, idx)
	return idx, nil
}

// DropIndex removes an index by name and tells the admin stream what was dropped.
func (s *Service) DropIndex(ctx context.Context, collection, name string) error {
	coll, err := s.indexedCollection(ctx, collection)
	if err != nil {
		return err
	}
	// The index is looked up first, so the admin stream can say what was dropped.
	idxs, err := coll.ListIndexes(ctx)
	if err != nil {
		return fmt.Errorf("list indexes of %s: %w", collection, err)
	}
	var dropped *docstore.Index
	for i := range idxs {
		if idxs[i].Name == name {
			dropped = &idxs[i]
		}
	}
	if dropped == nil {
		return ErrIndexNotFound
	}
	if err := coll.DropIndex(ctx, dropped.Name); errors.Is(err, docstore.ErrIndexNotFound) {
		return ErrIndexNotFound
	} else if err != nil {
		return fmt.Errorf("drop index %s on %s: %w", name, collection, err)
	}
	s.publishIndex(ctx, "delete", collection, *dropped)
	return nil
}

// publishIndex tells the admin stream an index was created or dropped.
func (s *Service) publishIndex(ctx context.Context, action, collection string, idx docstore.Index) {
	s.Publish(ctx, Event{Kind: KindIndex, Action: action, Collection: collection, Message: ClientMessage(action, collection, idx)})
}
