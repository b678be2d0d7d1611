package controlplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/backpackhq/backpack/controlplane/store"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/labstack/echo/v4"
)

// errNotReady is the answer for anything that needs a backend's admin port while the backend
// is not up.
func errNotReady(b store.Backend) error {
	return &httpapi.Error{Status: http.StatusConflict, Code: "backend_not_ready",
		Message: fmt.Sprintf("the backend is %s; try again once it is running", b.State), Details: map[string]any{"state": string(b.State)}}
}

var errUnreachable = httpapi.NewError(http.StatusBadGateway, "backend_unreachable", "the backend's admin port did not answer")

// adminTarget is where and how to reach a running backend's admin port.
type adminTarget struct {
	base  *url.URL
	token string
}

// serving refuses a backend whose admin port is not to be reached: one that is not running or
// degraded.
func serving(b store.Backend) error {
	if b.State != store.StateRunning && b.State != store.StateDegraded {
		return errNotReady(b)
	}
	return nil
}

func (s *Server) adminTarget(ctx context.Context, b store.Backend) (adminTarget, error) {
	if err := serving(b); err != nil {
		return adminTarget{}, err
	}
	_, token, err := s.backendSecrets(b)
	if err != nil {
		return adminTarget{}, err
	}
	raw, err := s.runtime.AdminURL(ctx, b.Name)
	if err != nil {
		return adminTarget{}, fmt.Errorf("admin address of %s: %w", b.Name, err)
	}
	base, err := url.Parse(raw)
	if err != nil {
		return adminTarget{}, fmt.Errorf("admin address of %s: %w", b.Name, err)
	}
	return adminTarget{base: base, token: token}, nil
}

// proxyAdmin forwards ANY /api/backends/:name/admin/* to /admin/* on the backend's admin port,
// websockets included. The caller must see the backend; the control plane adds the admin token
// and strips everything that authenticates the caller to the control plane, so neither the
// developer's cookies nor the token cross over.
func (s *Server) proxyAdmin(c echo.Context) error {
	b, err := s.visibleBackend(c)
	if err != nil {
		return err
	}
	req := c.Request()
	websocketUpgrade := strings.EqualFold(req.Header.Get("Upgrade"), "websocket")
	if websocketUpgrade && !s.sameOrigin(req) {
		return httpapi.NewError(http.StatusForbidden, "origin_not_allowed", "websockets to the admin proxy must come from the admin panel's origin")
	}
	prefix := "/api/backends/" + b.Name + "/admin"
	rest := strings.TrimPrefix(req.URL.EscapedPath(), prefix)
	if rest != "" && !strings.HasPrefix(rest, "/") || hasDotSegment(rest) {
		return httpapi.BadRequest("invalid_path", "the path after /admin must not contain . or .. segments")
	}
	target, err := s.adminTarget(req.Context(), b)
	if err != nil {
		return err
	}
	path, err := url.PathUnescape(rest)
	if err != nil {
		return httpapi.BadRequest("invalid_path", "the path is not validly escaped")
	}
	if err := refuseKeyRotation(req, b.Name, path); err != nil {
		return err
	}
	// A websocket or a long download through the proxy ends with the developer's session. A
	// plain request also outlives the server's stop, so a draining control plane finishes it;
	// a websocket, which the HTTP server does not wait for, ends with the server.
	bound := s.sessionBoundRequest
	if strings.EqualFold(req.Header.Get("Upgrade"), "websocket") {
		bound = s.sessionBound
	}
	ctx, cancel := bound(c)
	defer cancel()
	req = req.WithContext(ctx)
	// A websocket also ends when the control plane goes away: its client is told so with a
	// close frame (1001) and reconnects, through the load balancer, to another replica.
	var w http.ResponseWriter = c.Response()
	if websocketUpgrade {
		ws := &goingAwayWriter{ResponseWriter: c.Response()}
		w = ws
		defer untilGoingAway(c, func() {
			ws.goAway(time.Second)
			cancel()
		})()
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = target.base.Scheme, target.base.Host
			pr.Out.URL.Path, pr.Out.URL.RawPath = "/admin"+path, "/admin"+rest
			pr.Out.Host = target.base.Host
			for _, h := range []string{"Cookie", "Authorization", "Proxy-Authorization", csrfHeader, "Origin", "X-API-Key"} {
				pr.Out.Header.Del(h)
			}
			pr.Out.Header.Set("Authorization", "Bearer "+target.token)
			pr.SetXForwarded()
		},
		ModifyResponse: func(resp *http.Response) error {
			resp.Header.Del("Set-Cookie")
			// The answers come from the panel's origin but hold end users' data (files
			// included): never sniffed, never run.
			resp.Header.Set("X-Content-Type-Options", "nosniff")
			resp.Header.Set("Content-Security-Policy", "default-src 'none'; sandbox")
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if !errors.Is(err, context.Canceled) {
				s.log.WarnContext(r.Context(), "admin proxy", "backend", b.Name, "err", err)
			}
			httpapi.Write(c, errUnreachable)
		},
		FlushInterval: -1,
	}
	proxy.ServeHTTP(w, req)
	return nil
}

func hasDotSegment(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if u, err := url.PathUnescape(seg); err == nil && (u == "." || u == "..") || seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// sameOrigin reports whether a browser request comes from the control plane's own origin (or
// names none, as non-browser clients do).
func (s *Server) sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// callAdmin sends one request to the backend's admin port and returns the response, which the
// caller closes.
func (s *Server) callAdmin(ctx context.Context, b store.Backend, method, path, contentType string, body io.Reader, length int64) (*http.Response, error) {
	target, err := s.adminTarget(ctx, b)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, target.base.JoinPath(path).String(), body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = length
	req.Header.Set("Authorization", "Bearer "+target.token)
	if contentType != "" {
		req.Header.Set(echo.HeaderContentType, contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var tooBig *http.MaxBytesError
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.As(err, &tooBig) {
			return nil, tooBig
		}
		s.log.WarnContext(ctx, "admin call", "backend", b.Name, "path", path, "err", err)
		return nil, errUnreachable
	}
	return resp, nil
}

// relay copies a backend's answer (already in the contract's shape) to the client.
func relay(c echo.Context, resp *http.Response) error {
	defer resp.Body.Close()
	if ct := resp.Header.Get(echo.HeaderContentType); ct != "" {
		c.Response().Header().Set(echo.HeaderContentType, ct)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		c.Response().Header().Set("Retry-After", ra)
	}
	c.Response().WriteHeader(resp.StatusCode)
	_, err := io.Copy(c.Response(), resp.Body)
	return err
}
