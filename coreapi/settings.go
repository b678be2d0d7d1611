package coreapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/labstack/echo/v4"
)

// settingsReloadInterval is the safety net behind the settings events: a replica that missed
// one (at-most-once delivery) still converges.
const settingsReloadInterval = 10 * time.Second

// isLoopbackName reports whether host is localhost or a name under it, which always resolve to
// this machine.
func isLoopbackName(host string) bool {
	return host == "localhost" || strings.HasSuffix(host, ".localhost") && !strings.ContainsAny(host, ":/[] ")
}

// watchSettings keeps this replica's settings current: on every settings event and, as a
// safety net, every settingsReloadInterval.
func (s *Server) watchSettings(ctx context.Context, kick <-chan struct{}) {
	t := time.NewTicker(settingsReloadInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-kick:
		}
		if err := s.reloadSettings(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("reload settings", "err", err)
		}
	}
}

func (s *Server) handleGetSettings(c echo.Context) error {
	view, err := s.data.ViewSettings(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view)
}

// handlePatchSettings changes the CORS origins and/or the quotas and/or rotates the API key;
// the new key is in the answer and nowhere else.
func (s *Server) handlePatchSettings(c echo.Context) error {
	var req core.SettingsPatch
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	view, err := s.data.UpdateSettings(c.Request().Context(), req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view)
}
