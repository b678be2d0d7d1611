package coreapi

import (
	"net/http"

	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/labstack/echo/v4"
)

// ScopeServing is the /readyz query (?scope=serving) that load balancers and the container's
// healthcheck ask: see readyz.
const ScopeServing = "serving"

// readyz answers 200 only when the document store and the ephemeral store both respond, so
// the control plane and operators see a replica that lost its database. The database's check
// is named after its engine ("mongo" in a stack).
//
// With ?scope=serving it answers whether the replica should take traffic: 200 once both stores
// have answered since it started, until it drains. A database outage after that leaves the
// replica in rotation, answering 503 database_unavailable (with Retry-After) for what needs
// the database and serving the rest, instead of being dropped by Traefik (whose own 503 says
// nothing) or restarted by Swarm: every replica shares the same database, so no other one
// would do better, and a restart does not bring the database back.
func (s *Server) readyz(c echo.Context) error {
	if c.QueryParam("scope") == ScopeServing && s.reached.Load() {
		return httpapi.Readyz(c, "") // no checks: 200, or 503 draining while the replica drains
	}
	err := httpapi.Readyz(c, "a dependency of this replica is unreachable",
		httpapi.Check{Name: s.data.Engine(), Ping: s.data.Ping},
		httpapi.Check{Name: "redis", Ping: s.eph.Ping})
	if err == nil && c.Response().Status == http.StatusOK {
		s.reached.Store(true)
	}
	return err
}
