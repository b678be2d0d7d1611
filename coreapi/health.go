package coreapi

import (
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/labstack/echo/v4"
)

// readyz answers 200 only when the document store and the ephemeral store both respond, so a
// replica that lost its database is taken out of rotation rather than failing requests. The
// database's check is named after its engine ("mongo" in a stack).
func (s *Server) readyz(c echo.Context) error {
	return httpapi.Readyz(c, "a dependency of this replica is unreachable",
		httpapi.Check{Name: s.data.Engine(), Ping: s.data.Ping},
		httpapi.Check{Name: "redis", Ping: s.eph.Ping})
}
