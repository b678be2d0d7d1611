package coreapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/backpackhq/backpack/core"
	"github.com/labstack/echo/v4"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// The document routes are the same on both ports: /:collection on the public port, where the
// collection's rule applies to the signed-in user, and /admin/collections/:collection/docs on
// the admin port, where it does not.

func (s *Server) openFromPath(c echo.Context, write bool) (core.Documents, error) {
	return s.data.Documents(c.Request().Context(), c.Param("collection"), callerOf(c), write)
}

func (s *Server) openWithID(c echo.Context, write bool) (core.Documents, bson.ObjectID, error) {
	docs, err := s.openFromPath(c, write)
	if err != nil {
		return docs, bson.ObjectID{}, err
	}
	id, err := parseDocumentID(c.Param("id"))
	return docs, id, err
}

func (s *Server) handleListDocuments(c echo.Context) error {
	coll, err := s.openFromPath(c, false)
	if err != nil {
		return err
	}
	lq, err := parseListQuery(c.QueryParams())
	if err != nil {
		return err
	}
	// A client's regular expression runs on the database's engine; bound how long it may run.
	ctx, cancel := s.queryContext(c.Request().Context())
	defer cancel()
	docs, total, err := coll.Find(ctx, lq)
	if err != nil {
		return err
	}
	if total >= 0 {
		c.Response().Header().Set("X-Total-Count", strconv.FormatInt(total, 10))
	}
	return writeBSON(c, http.StatusOK, docs)
}

func (s *Server) handleGetDocument(c echo.Context) error {
	coll, id, err := s.openWithID(c, false)
	if err != nil {
		return err
	}
	doc, err := coll.Get(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return writeBSON(c, http.StatusOK, doc)
}

func (s *Server) handleCreateDocument(c echo.Context) error {
	coll, err := s.openFromPath(c, true)
	if err != nil {
		return err
	}
	body, err := s.decodeDocument(c)
	if err != nil {
		return err
	}
	doc, err := coll.Create(c.Request().Context(), body)
	if err != nil {
		return err
	}
	return writeBSON(c, http.StatusCreated, doc)
}

// writeWithBody runs a replace or a patch from an HTTP request.
func (s *Server) writeWithBody(c echo.Context, op func(core.Documents, context.Context, bson.ObjectID, bson.D) (bson.D, error)) error {
	coll, id, err := s.openWithID(c, true)
	if err != nil {
		return err
	}
	body, err := s.decodeDocument(c)
	if err != nil {
		return err
	}
	doc, err := op(coll, c.Request().Context(), id, body)
	if err != nil {
		return err
	}
	return writeBSON(c, http.StatusOK, doc)
}

func (s *Server) handleReplaceDocument(c echo.Context) error {
	return s.writeWithBody(c, core.Documents.Replace)
}

func (s *Server) handlePatchDocument(c echo.Context) error {
	return s.writeWithBody(c, core.Documents.Patch)
}

func (s *Server) handleDeleteDocument(c echo.Context) error {
	coll, id, err := s.openWithID(c, true)
	if err != nil {
		return err
	}
	doc, err := coll.Delete(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return writeBSON(c, http.StatusOK, doc)
}
