package controlplane

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPIDocument describes the control plane's HTTP API; a test keeps it in step with the
// router.
//
//go:embed openapi.json
var openAPIDocument []byte

// serveOpenAPI answers GET /api/openapi.json, without authentication, so tooling can fetch it.
func serveOpenAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDocument)
}
