package controlplane

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

// readyz answers 200 only when the database responds.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		return &httpapi.Error{Status: http.StatusServiceUnavailable, Code: "not_ready",
			Message: "the control plane's database is unreachable", Details: map[string]any{"checks": map[string]string{"database": "unreachable"}}}
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ok", "checks": map[string]string{"database": "ok"}})
}
