package coreapi

import (
	"errors"
	"mime"
	"net/http"

	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/backpackhq/backpack/tools/siterelease"
	"github.com/labstack/echo/v4"
)

// The backend's static site: PUT /admin/site takes a zip and publishes it as a new release
// (nginx serves SITE_DIR/current); the previous releases are kept for rollback.

type siteJSON struct {
	Current  *siterelease.Release  `json:"current"`
	Releases []siterelease.Release `json:"releases"`
}

func (s *Server) siteView() (siteJSON, error) {
	releases, err := s.site.List()
	if err != nil {
		return siteJSON{}, err
	}
	view := siteJSON{Releases: releases}
	if view.Releases == nil {
		view.Releases = []siterelease.Release{}
	}
	for i := range releases {
		if releases[i].Current {
			view.Current = &releases[i]
		}
	}
	return view, nil
}

func (s *Server) handleGetSite(c echo.Context) error {
	view, err := s.siteView()
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view)
}

// siteError turns a refused archive into a 400 that says why, or a 413 when it is too large.
func siteError(err error) error {
	var se *siterelease.Error
	switch {
	case errors.As(err, &se) && se.TooLarge:
		return httpapi.NewError(http.StatusRequestEntityTooLarge, "payload_too_large", se.Msg)
	case errors.As(err, &se):
		return httpapi.BadRequest("invalid_archive", se.Msg)
	}
	return err
}

func (s *Server) handlePutSite(c echo.Context) error {
	mt, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if err != nil || (mt != "application/zip" && mt != "application/x-zip-compressed" && mt != "application/octet-stream") {
		return httpapi.NewError(http.StatusUnsupportedMediaType, "unsupported_media_type", "send the site as a zip archive (Content-Type: application/zip)")
	}
	if c.Request().ContentLength > s.cfg.MaxSiteBytes {
		return httpapi.NewError(http.StatusRequestEntityTooLarge, "payload_too_large", "the archive is larger than the site size limit")
	}
	if _, err := s.site.Install(c.Request().Body); err != nil {
		return siteError(err)
	}
	view, err := s.siteView()
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, view)
}

func (s *Server) handleRollbackSite(c echo.Context) error {
	if _, err := s.site.Rollback(); err != nil {
		var se *siterelease.Error
		if errors.As(err, &se) {
			return httpapi.NewError(http.StatusConflict, "no_earlier_release", se.Msg)
		}
		return err
	}
	view, err := s.siteView()
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view)
}
