package httpapi

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"
)

// HeadForGet makes e answer HEAD wherever it answers GET, as HTTP requires (RFC 9110 9.3.2)
// and as link checkers, monitors and caches expect; echo registers GET alone. Call it on a
// new Echo, before any route: each GET route added afterwards gets a HEAD route with the same
// handler and middleware. The handler runs as for GET; net/http sends its status and headers
// and drops the body. Once the headers are written nothing more can reach a HEAD client, so
// the handler's context ends there: a stream (server-sent events, a followed log) answers
// HEAD with its headers instead of running until the client gives up. A HEAD route registered on its own later replaces the copy. Routes of
// Host groups, which neither API uses, are left alone.
func HeadForGet(e *echo.Echo) {
	prev := e.OnAddRouteHandler
	e.OnAddRouteHandler = func(host string, route echo.Route, handler echo.HandlerFunc, middleware []echo.MiddlewareFunc) {
		if prev != nil {
			prev(host, route, handler, middleware)
		}
		if route.Method == http.MethodGet && host == "" {
			e.Add(http.MethodHead, route.Path, endAtHeaders(handler), middleware...)
		}
	}
}

// endAtHeaders runs a GET handler for a HEAD request with a context that ends as soon as the
// status and headers are written.
func endAtHeaders(get echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, cancel := context.WithCancel(c.Request().Context())
		defer cancel()
		c.SetRequest(c.Request().WithContext(ctx))
		c.Response().Before(cancel)
		return get(c)
	}
}
