package coreapi

import (
	"context"
	"mime"
	"net/http"
	"strings"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"
)

// queryContext bounds the database work done under ctx by Config.QueryTimeout. The driver
// sends the remaining time to the server as maxTimeMS and abandons the call when it passes, so
// a slow query neither holds its client nor keeps the database busy; toAPIError answers it
// with 503 query_timeout.
func (s *Server) queryContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.QueryTimeout)
}

// boundQueries gives each request's handler the query deadline. It leaves out websocket
// handshakes, whose connection outlives any deadline (each message gets its own), and requests
// streaming a body other than JSON (file uploads, site archives), which may take longer than
// that to arrive: their handlers bound the database work once the body is in. A function's
// call is bounded by the function's own time limit instead (each of its database calls by the
// store's), so a function may run longer than one query may. A backup, which reads the whole
// backend, is not bounded as a whole either; each of its database calls is, by the store.
func (s *Server) boundQueries(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if websocket.IsWebSocketUpgrade(r) || streamsBody(r) || callsFunction(c.Path()) || c.Path() == backupRoute || c.Path() == restoreRoute {
			return next(c)
		}
		ctx, cancel := s.queryContext(r.Context())
		defer cancel()
		c.SetRequest(r.WithContext(ctx))
		return next(c)
	}
}

// callsFunction reports whether a route runs a function's onRequest.
func callsFunction(route string) bool {
	return strings.HasPrefix(route, "/fn/") || route == "/admin/functions/:name/invoke"
}

// streamsBody reports whether a request carries a body that is not JSON.
func streamsBody(r *http.Request) bool {
	if r.ContentLength == 0 {
		return false
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mediaType != "application/json"
}

// reloadSettings is the settings watcher's reload, under the query deadline like every
// request's database work, so a stalled database cannot hold the watcher forever.
func (s *Server) reloadSettings(ctx context.Context) error {
	ctx, cancel := s.queryContext(ctx)
	defer cancel()
	return s.data.Settings().Reload(ctx)
}
