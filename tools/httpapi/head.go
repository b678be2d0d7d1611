package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// HeadForGet makes e answer HEAD wherever it answers GET, as HTTP requires (RFC 9110 9.3.2)
// and as link checkers, monitors and caches expect; echo registers GET alone. Call it on a
// new Echo, before any route: each GET route added afterwards gets a HEAD route with the same
// handler and middleware. The handler runs as for GET; net/http sends its status and headers
// and drops the body. A HEAD route registered on its own later replaces the copy. Routes of
// Host groups, which neither API uses, are left alone.
func HeadForGet(e *echo.Echo) {
	prev := e.OnAddRouteHandler
	e.OnAddRouteHandler = func(host string, route echo.Route, handler echo.HandlerFunc, middleware []echo.MiddlewareFunc) {
		if prev != nil {
			prev(host, route, handler, middleware)
		}
		if route.Method == http.MethodGet && host == "" {
			e.Add(http.MethodHead, route.Path, handler, middleware...)
		}
	}
}
