package coreapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// The document routes are the same on both ports: /:collection on the public port, where the
// collection's rule applies to the signed-in user, and /admin/collections/:collection/docs on
// the admin port, where it does not.

func (s *Server) openFromPath(c echo.Context, write bool) (collectionRef, error) {
	return s.openCollection(c.Request().Context(), c.Param("collection"), callerOf(c), write)
}

func (s *Server) openWithID(c echo.Context, write bool) (collectionRef, bson.ObjectID, error) {
	ref, err := s.openFromPath(c, write)
	if err != nil {
		return ref, bson.ObjectID{}, err
	}
	id, err := parseDocumentID(c.Param("id"))
	return ref, id, err
}

func (s *Server) handleListDocuments(c echo.Context) error {
	ref, err := s.openFromPath(c, false)
	if err != nil {
		return err
	}
	lq, err := parseListQuery(c.QueryParams())
	if err != nil {
		return err
	}
	docs, total, err := s.findDocuments(c.Request().Context(), ref, lq)
	if err != nil {
		return err
	}
	if total >= 0 {
		c.Response().Header().Set("X-Total-Count", strconv.FormatInt(total, 10))
	}
	return writeBSON(c, http.StatusOK, docs)
}

func (s *Server) handleGetDocument(c echo.Context) error {
	ref, id, err := s.openWithID(c, false)
	if err != nil {
		return err
	}
	doc, err := s.findDocument(c.Request().Context(), ref, id)
	if err != nil {
		return err
	}
	return writeBSON(c, http.StatusOK, doc)
}

func (s *Server) handleCreateDocument(c echo.Context) error {
	ref, err := s.openFromPath(c, true)
	if err != nil {
		return err
	}
	data, err := s.decodeDocument(c)
	if err != nil {
		return err
	}
	doc, err := s.insertDocument(c.Request().Context(), ref, data)
	if err != nil {
		return err
	}
	return writeBSON(c, http.StatusCreated, doc)
}

// writeWithBody runs a replace or a patch from an HTTP request.
func (s *Server) writeWithBody(c echo.Context, op func(context.Context, collectionRef, bson.ObjectID, bson.D) (bson.D, error)) error {
	ref, id, err := s.openWithID(c, true)
	if err != nil {
		return err
	}
	data, err := s.decodeDocument(c)
	if err != nil {
		return err
	}
	doc, err := op(c.Request().Context(), ref, id, data)
	if err != nil {
		return err
	}
	return writeBSON(c, http.StatusOK, doc)
}

func (s *Server) handleReplaceDocument(c echo.Context) error {
	return s.writeWithBody(c, s.replaceDocument)
}

func (s *Server) handlePatchDocument(c echo.Context) error {
	return s.writeWithBody(c, s.patchDocument)
}

func (s *Server) handleDeleteDocument(c echo.Context) error {
	ref, id, err := s.openWithID(c, true)
	if err != nil {
		return err
	}
	doc, err := s.deleteDocument(c.Request().Context(), ref, id)
	if err != nil {
		return err
	}
	return writeBSON(c, http.StatusOK, doc)
}
