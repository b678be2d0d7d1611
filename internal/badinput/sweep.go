package badinput

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// Target is one HTTP API to sweep.
type Target struct {
	// Base is the URL the routes' paths are appended to.
	Base string
	// Client sends the requests (nil: a plain client).
	Client *http.Client
	// Header is added to every request: the credentials that get past authentication.
	Header http.Header
	// Router is the API's echo router, whose registered routes are swept.
	Router *echo.Echo
	// Limit is the largest body the API takes.
	Limit int64
	// Valid gives a real value for each path parameter (by name; "*" for a wildcard).
	Valid map[string]string
}

// Sweep sends every route of the target the bad inputs of this package — odd path values (in
// every parameter, then in the last alone), bad query strings, and, to methods that take one,
// malformed, mistyped and oversized bodies — and fails the test on every answer that breaks
// the contract (see Check) or does not come within 15 s. Deletes (of parts before wholes),
// then logouts, go last, so the other requests find what they need.
func Sweep(t *testing.T, target Target) {
	t.Helper()
	routes := Routes(target.Router)
	if len(routes) < 5 {
		t.Fatalf("only %d routes", len(routes))
	}
	rank := func(r *echo.Route) int {
		switch {
		case strings.HasSuffix(r.Path, "/logout"):
			return 2
		case r.Method == http.MethodDelete:
			return 1
		}
		return 0
	}
	// Deletes of a thing's parts before the thing itself: longer paths first.
	slices.SortStableFunc(routes, func(a, b *echo.Route) int {
		if ra, rb := rank(a), rank(b); ra != rb || ra != 1 {
			return ra - rb
		}
		return len(b.Path) - len(a.Path)
	})
	client := target.Client
	if client == nil {
		client = &http.Client{}
	}
	var failures []string
	send := func(method, path, query string, body Body) {
		target := target
		url := target.Base + path
		if query != "" {
			url += "?" + query
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		what := method + " " + shorten(path, 120) + "?" + shorten(query, 80) + " body " + body.Name
		req, err := http.NewRequestWithContext(ctx, method, url, body.Reader())
		if err != nil {
			failures = append(failures, what+": "+err.Error())
			return
		}
		for k, v := range target.Header {
			req.Header[k] = v
		}
		if body.ContentType != "" {
			req.Header.Set("Content-Type", body.ContentType)
		}
		res, err := client.Do(req)
		if err != nil {
			failures = append(failures, what+": "+err.Error())
			return
		}
		defer res.Body.Close()
		var b []byte
		if res.StatusCode >= 400 { // a success may be an endless stream, and is not checked
			b, _ = io.ReadAll(res.Body)
		}
		if why := Check(method, res.StatusCode, res.Header, b); why != "" {
			failures = append(failures, what+": "+why)
		}
	}
	validValue := func(p string) string {
		v, ok := target.Valid[p]
		if !ok {
			t.Fatalf("no valid value for path parameter %q", p)
		}
		return v
	}
	bodies := Bodies(target.Limit)
	plain := Body{Name: "none"}
	for _, r := range routes {
		params := Params(r.Path)
		path := Fill(r.Path, validValue)
		for _, v := range PathValues() {
			if len(params) == 0 {
				break
			}
			send(r.Method, Fill(r.Path, func(string) string { return v }), "", plain)
			if len(params) > 1 {
				lastParam := params[len(params)-1]
				send(r.Method, Fill(r.Path, func(p string) string {
					if p == lastParam {
						return v
					}
					return validValue(p)
				}), "", plain)
			}
		}
		for _, q := range Queries() {
			send(r.Method, path, q, plain)
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodDelete {
			for _, b := range bodies {
				send(r.Method, path, "", b)
			}
		}
	}
	for _, f := range failures {
		t.Error(f)
	}
}

func shorten(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
