package controlplane

import (
	"html/template"
	"net"
	"net/http"
	"strings"

	"github.com/backpackhq/backpack/controlplane/runtime"
	"github.com/backpackhq/backpack/controlplane/store"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/backpackhq/backpack/tools/names"
)

// hostRouter is what Traefik does in production, for runtimes that serve backends in-process:
// NAME-be.DOMAIN to the backend's API, NAME.DOMAIN to its site, and everything else
// (admin.DOMAIN, the bare domain, an IP address) to the control plane.
func (s *Server) hostRouter(r runtime.Router) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		label, ok := s.backendLabel(req.Host)
		if !ok {
			s.echo.ServeHTTP(w, req)
			return
		}
		if name, isAPI := strings.CutSuffix(label, "-be"); isAPI {
			if h, ok := r.PublicHandler(name); ok {
				h.ServeHTTP(w, req)
				return
			}
			s.backendMissing(w, req, name, true)
			return
		}
		if h, ok := r.SiteHandler(label); ok {
			h.ServeHTTP(w, req)
			return
		}
		s.backendMissing(w, req, label, false)
	})
}

// backendLabel returns the first label of a host directly under the domain, unless it is the
// control plane's own (admin).
func (s *Server) backendLabel(hostport string) (string, bool) {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	label, ok := strings.CutSuffix(host, "."+s.cfg.Domain)
	if !ok || label == "" || strings.Contains(label, ".") || label == "admin" {
		return "", false
	}
	return label, true
}

var missingSite = template.Must(template.New("missing").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 4rem auto; padding: 0 1rem">
<h1>{{.Title}}</h1><p>{{.Detail}}</p></body></html>
`))

// backendMissing answers a backend host whose backend is not being served: a JSON error for the
// API (what the SDK expects), a small page for the site (what a browser shows).
func (s *Server) backendMissing(w http.ResponseWriter, req *http.Request, name string, api bool) {
	status, code, title, detail := http.StatusNotFound, "backend_not_found", "No such backend", "There is no backend named "+name+" here."
	if names.Backend(name) == nil {
		if b, err := s.store.Backend(req.Context(), name); err == nil && b.Desired == store.DesiredRunning {
			status, code, title = http.StatusServiceUnavailable, "backend_not_ready", "Backend not ready"
			state := string(b.State)
			if b.State == store.StateRunning || b.State == store.StateDegraded {
				state = "starting"
			}
			detail = "The backend " + name + " is " + state + "; try again in a moment."
			w.Header().Set("Retry-After", "2")
		}
	}
	if api {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = jsonEncode(w, httpapi.ErrorBody{Error: httpapi.ErrorDetail{Code: code, Message: detail}})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = missingSite.Execute(w, map[string]string{"Title": title, "Detail": detail})
}
