package coreapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// unauthenticatedPaths answer without an API key: health checks for orchestrators, the API
// description for tooling, and the SDK, which a <script> tag loads without headers.
var unauthenticatedPaths = []string{"/healthz", "/readyz", "/openapi.json", "/sdk.js", "/sdk.mjs", "/sdk.d.ts"}

// requireAPIKey refuses any other request without the backend's key in X-API-Key.
func (s *Server) requireAPIKey(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if slices.Contains(unauthenticatedPaths, c.Request().URL.Path) {
			return next(c)
		}
		key := c.Request().Header.Get("X-API-Key")
		if key == "" && isWebsocketPath(c.Request().URL.Path) {
			// Browsers cannot set headers on a websocket handshake.
			key = c.QueryParam("apiKey")
		}
		if key == "" {
			return httpapi.NewError(http.StatusUnauthorized, "missing_api_key", "send the backend's API key in the X-API-Key header")
		}
		// A key this replica does not know may have just been rotated on another: CheckAPIKey
		// reloads the settings (coalesced, a few times a second at most) before refusing it.
		if !s.data.Settings().CheckAPIKey(c.Request().Context(), key) {
			return httpapi.NewError(http.StatusUnauthorized, "invalid_api_key", "the API key is not valid for this backend")
		}
		return next(c)
	}
}

func isWebsocketPath(p string) bool { return p == "/ws" }

// adminUnauthenticatedPaths are the admin port's health checks: the control plane asks
// whether a replica is ready before it holds the backend's token (after a restart, say), and
// the answers reveal nothing but "ok".
var adminUnauthenticatedPaths = []string{"/healthz", "/readyz"}

// requireAdminToken guards the admin port with the backend's admin bearer token, and marks
// the request as the admin's, to which no collection rule applies.
func (s *Server) requireAdminToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if slices.Contains(adminUnauthenticatedPaths, c.Request().URL.Path) {
			return next(c)
		}
		token, ok := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
		if !ok || !s.adminToken.Matches(token) {
			return httpapi.NewError(http.StatusUnauthorized, "invalid_admin_token", "a valid admin bearer token is required")
		}
		c.Set(contextAdminKey, true)
		return next(c)
	}
}

// limitBody caps JSON bodies; file and site uploads set their own, larger limits.
func (s *Server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if isUpload(req) || req.URL.Path == "/admin/site" || req.URL.Path == restoreRoute {
			return next(c)
		}
		if req.ContentLength > s.cfg.MaxBodyBytes {
			return &http.MaxBytesError{Limit: s.cfg.MaxBodyBytes}
		}
		req.Body = http.MaxBytesReader(c.Response(), req.Body, s.cfg.MaxBodyBytes)
		return next(c)
	}
}

// cors allows the configured origins, and only them, to call with credentials. Preflight
// requests are answered here, before the API key check, as browsers send them without it.
func (s *Server) cors() echo.MiddlewareFunc {
	return middleware.CORSWithConfig(middleware.CORSConfig{
		AllowOriginFunc:  func(origin string) (bool, error) { return s.data.Settings().OriginAllowed(origin), nil },
		AllowCredentials: true,
		AllowMethods:     []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
		AllowHeaders:     []string{echo.HeaderContentType, "X-API-Key", echo.HeaderAuthorization, echo.HeaderXRequestID},
		ExposeHeaders:    []string{"X-Total-Count", echo.HeaderXRequestID, "Retry-After"},
		MaxAge:           600,
	})
}
