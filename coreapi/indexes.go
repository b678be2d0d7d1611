package coreapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/filter"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/labstack/echo/v4"
)

// Indexes are managed on the admin port only: an index costs every write of its collection
// and, when unique, decides which writes succeed, so it is the developer's choice, made in the
// admin panel or by the control plane, never an end user's.

// kindIndex is the admin stream's kind for an index created or dropped; end users never get it.
const kindIndex = "index"

// Caps on an index request.
const (
	// maxIndexFields is the most fields one index may have: as many as a sort may name, since
	// a longer index serves no query the API can send better than its first eight fields do.
	maxIndexFields = 8
	// maxIndexNameBytes bounds a name given by the caller (a default name follows its fields).
	maxIndexNameBytes = 128
	// maxIndexes bounds a collection's indexes (the one on _id aside): each one costs every
	// write, and MongoDB stops at 64.
	maxIndexes = 32
)

var (
	errIndexExists   = httpapi.NewError(http.StatusConflict, "index_exists", "the collection already has an index with this name or these fields")
	errIndexNotFound = httpapi.NewError(http.StatusNotFound, "index_not_found", "no such index")
)

func invalidIndex(format string, args ...any) error {
	return httpapi.BadRequest("invalid_index", fmt.Sprintf(format, args...))
}

// indexRoutes adds the index routes to the admin router's /admin group.
func (s *Server) indexRoutes(a *echo.Group) {
	a.GET("/collections/:collection/indexes", s.handleListIndexes)
	a.POST("/collections/:collection/indexes", s.handleCreateIndex)
	a.DELETE("/collections/:collection/indexes/:index", s.handleDropIndex)
}

// indexRequest is the body of POST /admin/collections/:name/indexes.
type indexRequest struct {
	Fields []string `json:"fields"`
	Unique bool     `json:"unique"`
	Name   string   `json:"name"`
}

// index checks the request and returns the index to build, named as docstore.IndexName
// names it unless the request gives a name. Field paths follow the rules of filters and sorts,
// each with an optional "-" for descending.
func (r indexRequest) index() (docstore.Index, error) {
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
func (s *Server) indexedCollection(ctx context.Context, name string) (docstore.Collection, error) {
	info, err := s.collections.lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	return s.store.Collection(info.Name), nil
}

func (s *Server) handleListIndexes(c echo.Context) error {
	ctx := c.Request().Context()
	coll, err := s.indexedCollection(ctx, c.Param("collection"))
	if err != nil {
		return err
	}
	idxs, err := coll.ListIndexes(ctx)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, idxs)
}

// handleCreateIndex builds an index and waits until it is there. A unique index over values
// that already repeat is refused (duplicate_values) and nothing is built.
func (s *Server) handleCreateIndex(c echo.Context) error {
	var req indexRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	idx, err := req.index()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	name := c.Param("collection")
	coll, err := s.indexedCollection(ctx, name)
	if err != nil {
		return err
	}
	existing, err := coll.ListIndexes(ctx)
	if err != nil {
		return err
	}
	if len(existing) >= maxIndexes {
		return httpapi.NewError(http.StatusConflict, "too_many_indexes",
			fmt.Sprintf("a collection has at most %d indexes; delete one first", maxIndexes))
	}
	var dup *docstore.DuplicateError
	switch err := coll.CreateIndex(ctx, idx); {
	case errors.Is(err, docstore.ErrIndexExists):
		return errIndexExists
	case errors.As(err, &dup):
		return &httpapi.Error{Status: http.StatusConflict, Code: "duplicate_values",
			Message: fmt.Sprintf("some documents share the same values of %s, so a unique index cannot be built; change or delete them first", strings.Join(dup.Fields, ", ")),
			Details: map[string]any{"fields": dup.Fields}}
	case err != nil:
		return err
	}
	s.publishIndex(ctx, "create", name, idx)
	return c.JSON(http.StatusCreated, idx)
}

func (s *Server) handleDropIndex(c echo.Context) error {
	ctx := c.Request().Context()
	name := c.Param("collection")
	coll, err := s.indexedCollection(ctx, name)
	if err != nil {
		return err
	}
	index, err := pathIndexName(c)
	if err != nil {
		return err
	}
	// The index is looked up first, so the admin stream can say what was dropped.
	idxs, err := coll.ListIndexes(ctx)
	if err != nil {
		return err
	}
	var dropped *docstore.Index
	for i := range idxs {
		if idxs[i].Name == index {
			dropped = &idxs[i]
		}
	}
	if dropped == nil {
		return errIndexNotFound
	}
	if err := coll.DropIndex(ctx, dropped.Name); errors.Is(err, docstore.ErrIndexNotFound) {
		return errIndexNotFound
	} else if err != nil {
		return err
	}
	s.publishIndex(ctx, "delete", name, *dropped)
	return c.NoContent(http.StatusNoContent)
}

// pathIndexName reads the :index path parameter, percent-decoded exactly once (as pathFilename
// reads a filename: echo leaves parameters escaped when it routes on the raw path).
func pathIndexName(c echo.Context) (string, error) {
	name := c.Param("index")
	if c.Request().URL.RawPath == "" {
		return name, nil
	}
	name, err := url.PathUnescape(name)
	if err != nil {
		return "", errIndexNotFound
	}
	return name, nil
}

// publishIndex tells the admin stream an index was created or dropped.
func (s *Server) publishIndex(ctx context.Context, action, collection string, idx docstore.Index) {
	s.publish(ctx, event{Kind: kindIndex, Action: action, Collection: collection, Message: clientMessage(action, collection, idx)})
}
