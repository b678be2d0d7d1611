package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/backpackhq/backpack/tools/httpserve"
	"github.com/labstack/echo/v4"
)

// Healthz answers as long as the process serves HTTP: liveness for the orchestrator.
func Healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// Check is one dependency a server needs before it takes traffic.
type Check struct {
	Name string
	Ping func(context.Context) error
}

// readyTimeout bounds all of a readiness answer's checks, so a hung dependency reads as not
// ready instead of hanging the orchestrator's probe.
const readyTimeout = 2 * time.Second

// Readyz answers 200 {"status":"ok","checks":{NAME:"ok"…}} when every check answers within 2
// seconds, else 503 not_ready with message and the same checks (each "ok" or "unreachable") in
// details, so a replica that lost a dependency is taken out of rotation. In the second half of
// the drain before the server stops (httpserve.Unready) it answers 503 draining without
// checking anything: the replica still serves, but the load balancer must stop sending it
// traffic.
func Readyz(c echo.Context, message string, checks ...Check) error {
	if httpserve.Unready(c.Request().Context()) {
		return &Error{Status: http.StatusServiceUnavailable, Code: "draining", Message: "this replica is shutting down; another one takes its traffic"}
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
	defer cancel()
	results := make(map[string]string, len(checks))
	ready := true
	for _, check := range checks {
		results[check.Name] = "ok"
		if err := check.Ping(ctx); err != nil {
			results[check.Name], ready = "unreachable", false
		}
	}
	if !ready {
		return &Error{Status: http.StatusServiceUnavailable, Code: "not_ready", Message: message, Details: map[string]any{"checks": results}}
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ok", "checks": results})
}
