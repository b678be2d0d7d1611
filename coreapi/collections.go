package coreapi

import (
	"net/http"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/labstack/echo/v4"
)

type createCollectionRequest struct {
	Name string `json:"name"`
}

func (s *Server) handleListCollections(c echo.Context) error {
	if sessionUser(c) == "" {
		return core.ErrNotSignedIn
	}
	infos, err := s.data.ListCollections(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, infos)
}

func (s *Server) handleCreateCollection(c echo.Context) error {
	if sessionUser(c) == "" {
		return core.ErrNotSignedIn
	}
	var req createCollectionRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	info, err := s.data.CreateCollectionWithinQuota(c.Request().Context(), req.Name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, info)
}
