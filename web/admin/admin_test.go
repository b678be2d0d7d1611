package admin

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func serve(method, path string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	return rec
}

// TestPagesServeThePanel: every page path answers the same page, under the strict policy.
func TestPagesServeThePanel(t *testing.T) {
	for _, path := range []string{"/", "/signin", "/signup?invite=x", "/new", "/settings", "/backends/shop", "/backends/shop/data/cars"} {
		rec := serve(http.MethodGet, path, nil)
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") ||
			!strings.Contains(rec.Body.String(), `<script type="module" src="/assets/app.js"`) {
			t.Fatalf("GET %s = %d %q", path, rec.Code, rec.Header().Get("Content-Type"))
		}
		for h, want := range map[string]string{
			"Content-Security-Policy": policy, "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
			"Referrer-Policy": "same-origin", "Cache-Control": "no-cache",
		} {
			if got := rec.Header().Get(h); got != want {
				t.Errorf("GET %s: %s = %q, want %q", path, h, got, want)
			}
		}
	}
	if !strings.Contains(policy, "script-src 'self'") || strings.Contains(policy, "unsafe") {
		t.Fatalf("policy %q must allow only the panel's own scripts", policy)
	}
}

// TestAssets: scripts are served as JavaScript (modules need it), unknown files are a JSON 404,
// and a validator saves the transfer.
func TestAssets(t *testing.T) {
	rec := serve(http.MethodGet, "/assets/app.js", nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/javascript; charset=utf-8" || rec.Header().Get("ETag") == "" {
		t.Fatalf("app.js = %d %v", rec.Code, rec.Header())
	}
	if again := serve(http.MethodGet, "/assets/app.js", map[string]string{"If-None-Match": rec.Header().Get("ETag")}); again.Code != http.StatusNotModified || again.Body.Len() != 0 {
		t.Fatalf("revalidation = %d, %d bytes", again.Code, again.Body.Len())
	}
	if css := serve(http.MethodGet, "/assets/panel.css", nil); !strings.HasPrefix(css.Header().Get("Content-Type"), "text/css") {
		t.Fatalf("panel.css type = %q", css.Header().Get("Content-Type"))
	}
	if head := serve(http.MethodHead, "/", nil); head.Code != http.StatusOK || head.Body.Len() != 0 {
		t.Fatalf("HEAD / = %d, %d bytes", head.Code, head.Body.Len())
	}
	for _, path := range []string{"/assets/nope.js", "/assets/", "/assets/../admin.go"} {
		rec := serve(http.MethodGet, path, nil)
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `"code":"not_found"`) {
			t.Errorf("GET %s = %d %s", path, rec.Code, rec.Body)
		}
	}
}

// htmlSinks are the ways a script can turn text into markup or code. The panel builds every
// element with dom.js's h() and sets text as text, so none of them may appear.
var htmlSinks = regexp.MustCompile(`\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(|setAttribute\(['"]on`)

// TestNoHTMLSinks keeps values out of markup by construction, besides the CSP.
func TestNoHTMLSinks(t *testing.T) {
	if len(files) < 5 {
		t.Fatalf("only %d embedded files", len(files))
	}
	for name, f := range files {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		if m := htmlSinks.Find(f.body); m != nil {
			t.Errorf("%s uses %s", name, m)
		}
	}
}
