package openapicheck

import (
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// Path turns an echo route path into the document's form: ":name" is "{name}" and a trailing
// wildcard is "{path}".
func Path(echoPath string) string {
	p := echoParam.ReplaceAllString(echoPath, "{$1}")
	if rest, ok := strings.CutSuffix(p, "/*"); ok {
		p = rest + "/{path}"
	}
	return p
}

// MatchRoutes keeps a document in step with a router: every route is documented and every
// documented operation is a route. Methods OpenAPI cannot name (echo's Any also routes
// CONNECT, PROPFIND, REPORT) only need their path documented, and HEAD need not be documented
// where GET is (both APIs answer HEAD wherever they answer GET, see httpapi.HeadForGet).
func MatchRoutes(t testing.TB, doc Document, routes []*echo.Route, router string) {
	t.Helper()
	routed := map[string]bool{}
	undescribable := map[string]bool{}
	for _, r := range routes {
		if r.Method == "" || strings.HasPrefix(r.Method, "echo_") || r.Method == "RouteNotFound" {
			continue
		}
		path := Path(r.Path)
		if !Methods[strings.ToLower(r.Method)] {
			undescribable[path] = true
			continue
		}
		routed[r.Method+" "+path] = true
	}
	documented := map[string]bool{}
	for k := range Operations(t, doc) {
		documented[k] = true
	}
	var missing, extra []string
	for k := range routed {
		if path, ok := strings.CutPrefix(k, "HEAD "); ok && routed["GET "+path] {
			continue
		}
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !routed[k] {
			extra = append(extra, k)
		}
	}
	for path := range undescribable {
		if _, ok := doc.Paths[path]; !ok {
			missing = append(missing, "(any method) "+path)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("openapi.json is out of step with %s:\n  routes not documented: %v\n  documented but not routed: %v",
			router, missing, extra)
	}
	if len(routed) == 0 {
		t.Errorf("%s has no routes", router)
	}
}
