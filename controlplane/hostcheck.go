package controlplane

import (
	"net"
	"net/http"
	"strings"

	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/labstack/echo/v4"
)

// probePaths answer whatever the Host: orchestrators and Prometheus reach the control plane by
// its address or container name, not by admin.DOMAIN (/metrics has its own bearer token).
var probePaths = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// errMisdirected answers a request for a host the control plane does not serve.
func (s *Server) errMisdirected() *httpapi.Error {
	return httpapi.NewError(http.StatusMisdirectedRequest, "misdirected_request",
		"this server answers only for admin."+s.cfg.Domain+"; use that address")
}

// requireOwnHost refuses requests whose Host is not the control plane's own (see ownHost), so a
// name an attacker controls cannot be pointed at it: DNS rebinding cannot make a browser talk
// to a local control plane (and register its operator) under the attacker's origin.
func (s *Server) requireOwnHost(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if !probePaths[req.URL.Path] && !s.ownHost(req.Host) {
			return s.errMisdirected()
		}
		return next(c)
	}
}

// ownHost reports whether a Host header names the control plane: admin.DOMAIN on any port,
// and, when the domain is localhost (backpack dev), localhost, 127.0.0.1 and [::1] too.
// Backends' hosts never get here when the control plane serves them (hostRouter); otherwise
// Traefik sends them to the backends.
func (s *Server) ownHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "admin."+s.cfg.Domain {
		return true
	}
	if s.cfg.Domain != "localhost" {
		return false
	}
	switch host {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}
