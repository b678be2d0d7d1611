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

// hostRouter sends backends' hosts, NAME-be.DOMAIN (API) and NAME.DOMAIN (site), to the
// backend when the runtime serves it in-process (r, nil for runtimes that do not), and to
// backendMissing otherwise; everything else (admin.DOMAIN, the bare domain, an IP address) goes
// to the control plane. With the local runtime this is what Traefik does in production. With
// Swarm, Traefik routes a backend's hosts here only while the backend has no running task
// there (its lowest-priority catch-all router, deploy/platform.yml), or when the site's
// task fails to answer (its errors middleware).
func (s *Server) hostRouter(r runtime.Router) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		label, ok := s.backendLabel(req.Host)
		if !ok {
			s.echo.ServeHTTP(w, req)
			return
		}
		if name, isAPI := strings.CutSuffix(label, "-be"); isAPI {
			if h, ok := routerPublic(r, name); ok {
				h.ServeHTTP(w, req)
				return
			}
			s.backendMissing(w, req, name, true)
			return
		}
		if h, ok := routerSite(r, label); ok {
			h.ServeHTTP(w, req)
			return
		}
		s.backendMissing(w, req, label, false)
	})
}

// routerPublic is the backend's API handler when r serves it in-process.
func routerPublic(r runtime.Router, name string) (http.Handler, bool) {
	if r == nil {
		return nil, false
	}
	return r.PublicHandler(name)
}

// routerSite is the backend's site handler when r serves it in-process.
func routerSite(r runtime.Router, name string) (http.Handler, bool) {
	if r == nil {
		return nil, false
	}
	return r.SiteHandler(name)
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

// unavailableRetryAfter is the Retry-After of a backend that has nothing serving its hosts:
// about the time Swarm takes to restart a task, or Traefik to notice one.
const unavailableRetryAfter = "5"

// backendMissing answers a backend host whose backend is not being served: a JSON error for the
// API (what the SDK expects), a small page for the site (what a browser shows). A backend that
// should be running answers 503: backend_unavailable once it has run (its tasks stopped, its
// node is down), backend_not_ready while it is being created or updated; any other host 404.
func (s *Server) backendMissing(w http.ResponseWriter, req *http.Request, name string, api bool) {
	status, code, title, detail := http.StatusNotFound, "backend_not_found", "No such backend", "There is no backend named "+name+" here."
	if names.Backend(name) == nil {
		if b, err := s.store.Backend(req.Context(), name); err == nil && b.Desired == store.DesiredRunning {
			status = http.StatusServiceUnavailable
			w.Header().Set("Retry-After", unavailableRetryAfter)
			w.Header().Set("Cache-Control", "no-store")
			if b.State == store.StateRunning || b.State == store.StateDegraded {
				code, title = "backend_unavailable", "Backend unavailable"
				part := "site"
				if api {
					part = "API"
				}
				detail = "The backend " + name + " is unavailable: its " + part + " has no running task right now. Try again in a moment."
			} else {
				code, title = "backend_not_ready", "Backend not ready"
				detail = "The backend " + name + " is " + string(b.State) + "; try again in a moment."
			}
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
