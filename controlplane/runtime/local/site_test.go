package local

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeRelease lays out siteDir/releases/id with the given files and points current at it,
// the way siterelease does.
func writeRelease(t *testing.T, siteDir, id string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(siteDir, "releases", id, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tmp := filepath.Join(siteDir, "current.tmp")
	if err := os.Symlink("releases/"+id, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(siteDir, "current")); err != nil {
		t.Fatal(err)
	}
}

func get(h http.Handler, method, target string) reply {
	return serve(h, httptest.NewRequest(method, target, nil))
}

func TestSiteHandler(t *testing.T) {
	siteDir := t.TempDir()
	access := newRing(100)
	h := newSiteHandler("x<b>", siteDir, access)

	res := get(h, http.MethodGet, "/")
	if res.status != http.StatusNotFound || !strings.Contains(res.body, "x&lt;b&gt;") || strings.Contains(res.body, "<b>") ||
		!strings.HasPrefix(res.header.Get("Content-Type"), "text/html") {
		t.Fatalf("no release: %d %v %q", res.status, res.header, res.body)
	}

	// A secret next to the site directory, and a link inside the release pointing at it.
	if err := os.WriteFile(filepath.Join(filepath.Dir(siteDir), "secret.txt"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	writeRelease(t, siteDir, "r1", map[string]string{
		"index.html":      "root index",
		"docs/index.html": "docs index",
		"css/site.css":    "body{}",
	})
	if err := os.Symlink("../../../secret.txt", filepath.Join(siteDir, "releases", "r1", "leak.txt")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path string
		status       int
		body         string
		cache        string
	}{
		{"GET", "/", 200, "root index", "no-cache"},
		{"GET", "/index.html", 200, "root index", "no-cache"},
		{"HEAD", "/", 200, "", "no-cache"},
		{"GET", "/docs/", 200, "docs index", "no-cache"},
		{"GET", "/docs", 200, "docs index", "no-cache"},
		{"GET", "/css/site.css", 200, "body{}", "public, max-age=300"},
		{"GET", "/shop/cart/42", 200, "root index", "no-cache"},
		{"GET", "/css/missing.css", 404, "", ""},
		{"GET", "/../../secret.txt", 404, "", ""},
		{"GET", "/%2e%2e/%2e%2e/secret.txt", 404, "", ""},
		{"GET", "/leak.txt", 404, "", ""},
		{"PUT", "/", 405, "", ""},
		{"DELETE", "/css/site.css", 405, "", ""},
	} {
		res := get(h, c.method, c.path)
		if res.status != c.status || (c.body != "" && res.body != c.body) || strings.Contains(res.body, "secret") ||
			(c.cache != "" && res.header.Get("Cache-Control") != c.cache) {
			t.Errorf("%s %s = %d %q (Cache-Control %q), want %d %q (%q)", c.method, c.path, res.status, res.body,
				res.header.Get("Cache-Control"), c.status, c.body, c.cache)
		}
		if c.status == 405 && res.header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow %q", c.method, c.path, res.header.Get("Allow"))
		}
	}
	css := get(h, http.MethodGet, "/css/site.css")
	if css.header.Get("ETag") == "" || css.header.Get("Last-Modified") == "" || !strings.HasPrefix(css.header.Get("Content-Type"), "text/css") {
		t.Fatalf("asset headers: %v", css.header)
	}
	req := httptest.NewRequest(http.MethodGet, "/css/site.css", nil)
	req.Header.Set("If-None-Match", css.header.Get("ETag"))
	if res := serve(h, req); res.status != http.StatusNotModified {
		t.Fatalf("revalidation: %d", res.status)
	}

	// A new release is served from the next request on.
	writeRelease(t, siteDir, "r2", map[string]string{"index.html": "second", "css/site.css": "body{color:red}"})
	if res := get(h, http.MethodGet, "/anything"); res.body != "second" {
		t.Fatalf("after switching release: %q", res.body)
	}
	req = httptest.NewRequest(http.MethodGet, "/css/site.css", nil)
	req.Header.Set("If-None-Match", css.header.Get("ETag"))
	if res := serve(h, req); res.status != http.StatusOK || res.body != "body{color:red}" {
		t.Fatalf("the old ETag against the new release: %d %q", res.status, res.body)
	}

	// A release without index.html has no fallback.
	writeRelease(t, siteDir, "r3", map[string]string{"app.js": "x"})
	if res := get(h, http.MethodGet, "/"); res.status != http.StatusNotFound {
		t.Fatalf("no index.html: %d", res.status)
	}

	// Every request was logged.
	lines, _, _, _ := access.from(0, false)
	if len(lines) < 15 || !strings.Contains(lines[len(lines)-1], `"method":"GET","path":"/","status":404`) {
		t.Fatalf("access log (%d lines) ends %q", len(lines), lines[len(lines)-1])
	}
}
