package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"regexp"
	"time"

	"github.com/labstack/echo/v4"
)

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// RequestID keeps a well-formed incoming X-Request-Id (so a proxy's id follows the request)
// and otherwise makes one, and returns it in the response.
func RequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !requestIDPattern.MatchString(id) {
			b := make([]byte, 12)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

// healthCheckPaths are polled by orchestrators every few seconds; their successes are logged
// at debug level so they do not drown the lines people read.
var healthCheckPaths = map[string]bool{"/healthz": true, "/readyz": true}

// LogRequests writes one structured line per request.
func LogRequests(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			req := c.Request()
			level := slog.LevelInfo
			if healthCheckPaths[req.URL.Path] && c.Response().Status < 400 {
				level = slog.LevelDebug
			}
			log.Log(req.Context(), level, "request",
				"request_id", c.Response().Header().Get(echo.HeaderXRequestID),
				"method", req.Method, "route", c.Path(), "path", req.URL.Path,
				"status", c.Response().Status, "bytes", c.Response().Size,
				"duration_ms", time.Since(start).Milliseconds(), "remote", c.RealIP())
			return err
		}
	}
}

// RenderErrors turns a returned error into the contract's error response right away, so the
// middleware around it (logs, metrics) sees the status the client gets.
func RenderErrors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := next(c); err != nil {
			c.Error(err)
		}
		return nil
	}
}
