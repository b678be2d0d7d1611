package coreapi

import (
	"net/http"
	"net/url"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/labstack/echo/v4"
)

// indexRoutes adds the index routes to the admin router's /admin group: indexes are managed
// on the admin port only (see core.IndexRequest).
func (s *Server) indexRoutes(a *echo.Group) {
	a.GET("/collections/:collection/indexes", s.handleListIndexes)
	a.POST("/collections/:collection/indexes", s.handleCreateIndex)
	a.DELETE("/collections/:collection/indexes/:index", s.handleDropIndex)
}

func (s *Server) handleListIndexes(c echo.Context) error {
	idxs, err := s.data.ListIndexes(c.Request().Context(), c.Param("collection"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, idxs)
}

func (s *Server) handleCreateIndex(c echo.Context) error {
	var req core.IndexRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	idx, err := s.data.CreateIndex(c.Request().Context(), c.Param("collection"), req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, idx)
}

func (s *Server) handleDropIndex(c echo.Context) error {
	index, err := pathIndexName(c)
	if err != nil {
		return err
	}
	if err := s.data.DropIndex(c.Request().Context(), c.Param("collection"), index); err != nil {
		return err
	}
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
		return "", core.ErrIndexNotFound
	}
	return name, nil
}
