package coreapi

import (
	"context"
	"net/http"
	"time"

	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/labstack/echo/v4"
)

// healthz answers as long as the process serves HTTP: liveness for the orchestrator.
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 only when the document store and the ephemeral store both respond, so a
// replica that lost its database is taken out of rotation rather than failing requests.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"mongo": "ok", "redis": "ok"}
	ready := true
	if err := s.db.Client().Ping(ctx, nil); err != nil {
		checks["mongo"], ready = "unreachable", false
	}
	if err := s.eph.Ping(ctx); err != nil {
		checks["redis"], ready = "unreachable", false
	}
	if !ready {
		return &httpapi.Error{Status: http.StatusServiceUnavailable, Code: "not_ready",
			Message: "a dependency of this replica is unreachable", Details: map[string]any{"checks": checks}}
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ok", "checks": checks})
}
