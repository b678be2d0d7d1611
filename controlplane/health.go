package controlplane

import (
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/labstack/echo/v4"
)

// readyz answers 200 only when the database responds.
func (s *Server) readyz(c echo.Context) error {
	return httpapi.Readyz(c, "the control plane's database is unreachable", httpapi.Check{Name: "database", Ping: s.store.Ping})
}
