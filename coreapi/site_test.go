package coreapi

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// siteZip builds a zip archive holding these files.
func siteZip(t *testing.T, files map[string]string) []byte {
	t.Helper()
	return zipWith(t, func(w *zip.Writer) {
		names := make([]string, 0, len(files))
		for name := range files {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			f, err := w.Create(name)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.WriteString(f, files[name]); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// zipWith builds a zip archive with whatever entries add writes.
func zipWith(t *testing.T, add func(*zip.Writer)) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	add(w)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// addEntry writes one raw entry, with a name and mode the archive/zip helpers would not check.
func addEntry(t *testing.T, w *zip.Writer, name string, mode fs.FileMode, data string) {
	t.Helper()
	h := &zip.FileHeader{Name: name, Method: zip.Store}
	h.SetMode(mode)
	f, err := w.CreateHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, data); err != nil {
		t.Fatal(err)
	}
}

type siteState struct {
	Current *struct {
		ID      string `json:"id"`
		Files   int    `json:"files"`
		Bytes   int64  `json:"bytes"`
		Current bool   `json:"current"`
	} `json:"current"`
	Releases []struct {
		ID      string `json:"id"`
		Current bool   `json:"current"`
	} `json:"releases"`
}

func (s siteState) currentID() string {
	if s.Current == nil {
		return ""
	}
	return s.Current.ID
}

func siteOf(api *testAPI) siteState {
	api.t.Helper()
	adm := api.adminClient()
	var s siteState
	adm.mustStatus(http.StatusOK, adm.get("/admin/site")).decode(&s)
	return s
}

func putSite(api *testAPI, body io.Reader, contentType string) *response {
	api.t.Helper()
	return api.adminClient().raw(http.MethodPut, "/admin/site", body, contentType)
}

// liveFile reads a file of the live site, as nginx would serve it.
func liveFile(api *testAPI, name string) string {
	api.t.Helper()
	b, err := os.ReadFile(filepath.Join(api.cfg.SiteDir, "current", name))
	if err != nil {
		api.t.Fatalf("live site: %v", err)
	}
	return string(b)
}

// assertNoSiteLeftovers checks that no spooled upload or staging directory was left behind.
func assertNoSiteLeftovers(t *testing.T, api *testAPI) {
	t.Helper()
	for _, pattern := range []string{filepath.Join(api.cfg.SiteDir, ".upload-*"), filepath.Join(api.cfg.SiteDir, "releases", ".staging-*"),
		filepath.Join(api.cfg.SiteDir, "current.tmp-*")} {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			t.Errorf("left behind: %v", m)
		}
	}
}

func TestAdminSiteReleases(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	if s := siteOf(api); s.Current != nil || len(s.Releases) != 0 {
		t.Fatalf("fresh site = %+v", s)
	}
	adm.expectError(adm.post("/admin/site/rollback", nil), 409, "no_earlier_release")

	var first siteState
	r := adm.mustStatus(http.StatusCreated, putSite(api, bytes.NewReader(siteZip(t, map[string]string{"index.html": "<h1>v1</h1>", "css/app.css": "body{}"})), "application/zip"))
	r.decode(&first)
	if first.Current == nil || !first.Current.Current || first.Current.Files != 2 || first.Current.Bytes != int64(len("<h1>v1</h1>body{}")) ||
		len(first.Releases) != 1 || first.Releases[0].ID != first.Current.ID {
		t.Fatalf("first release = %s", r.body)
	}
	if got := liveFile(api, "index.html"); got != "<h1>v1</h1>" {
		t.Fatalf("live index.html = %q", got)
	}
	if got := liveFile(api, "css/app.css"); got != "body{}" {
		t.Fatalf("live css/app.css = %q", got)
	}
	if s := siteOf(api); s.currentID() != first.Current.ID || len(s.Releases) != 1 {
		t.Fatalf("GET /admin/site = %+v", s)
	}
	// One release: nothing to roll back to.
	adm.expectError(adm.post("/admin/site/rollback", nil), 409, "no_earlier_release")

	// A second upload, zipped as a build folder, replaces the live site entirely.
	var second siteState
	r = adm.mustStatus(http.StatusCreated, putSite(api, bytes.NewReader(siteZip(t, map[string]string{"dist/index.html": "<h1>v2</h1>"})), "application/x-zip-compressed"))
	r.decode(&second)
	if second.currentID() == "" || second.currentID() == first.Current.ID || len(second.Releases) != 2 ||
		second.Releases[0].ID != second.currentID() || !second.Releases[0].Current || second.Releases[1].Current {
		t.Fatalf("second release = %s", r.body)
	}
	if got := liveFile(api, "index.html"); got != "<h1>v2</h1>" {
		t.Fatalf("live index.html = %q", got)
	}
	if _, err := os.Stat(filepath.Join(api.cfg.SiteDir, "current", "css", "app.css")); err == nil {
		t.Fatal("a file of the previous release is live")
	}

	// Rollback goes back to the first release; the second stays listed.
	var rolled siteState
	r = adm.mustStatus(http.StatusOK, adm.post("/admin/site/rollback", nil))
	r.decode(&rolled)
	if rolled.currentID() != first.Current.ID || len(rolled.Releases) != 2 || rolled.Releases[0].Current || !rolled.Releases[1].Current {
		t.Fatalf("after rollback = %s", r.body)
	}
	if got := liveFile(api, "index.html"); got != "<h1>v1</h1>" {
		t.Fatalf("live index.html after rollback = %q", got)
	}
	if s := siteOf(api); s.currentID() != first.Current.ID {
		t.Fatalf("GET /admin/site after rollback = %+v", s)
	}
	adm.expectError(adm.post("/admin/site/rollback", nil), 409, "no_earlier_release")
	if got := liveFile(api, "index.html"); got != "<h1>v1</h1>" {
		t.Fatalf("live index.html after refused rollback = %q", got)
	}

	// A new upload after a rollback becomes the newest, live release.
	r = adm.mustStatus(http.StatusCreated, putSite(api, bytes.NewReader(siteZip(t, map[string]string{"index.html": "v3"})), "application/octet-stream"))
	var third siteState
	r.decode(&third)
	if third.Releases[0].ID != third.currentID() || len(third.Releases) != 3 || liveFile(api, "index.html") != "v3" {
		t.Fatalf("third release = %s", r.body)
	}
	assertNoSiteLeftovers(t, api)
}

func TestAdminSiteContentType(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	archive := siteZip(t, map[string]string{"index.html": "v1"})
	for _, ct := range []string{"", "text/plain", "application/json", "multipart/form-data; boundary=x", "application/zipx", "zip"} {
		adm.expectError(putSite(api, bytes.NewReader(archive), ct), 415, "unsupported_media_type")
	}
	if s := siteOf(api); s.Current != nil || len(s.Releases) != 0 {
		t.Fatalf("site after refused uploads = %+v", s)
	}
	adm.mustStatus(http.StatusCreated, putSite(api, bytes.NewReader(archive), "application/zip; name=site.zip"))
	assertNoSiteLeftovers(t, api)
}

func TestAdminSiteRejectsBadArchives(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	var live siteState
	adm.mustStatus(http.StatusCreated, putSite(api, bytes.NewReader(siteZip(t, map[string]string{"index.html": "good"})), "application/zip")).decode(&live)

	outside := filepath.Join(filepath.Dir(api.cfg.SiteDir), "evil.html")
	cases := []struct {
		name    string
		archive []byte
	}{
		{"absolute path", zipWith(t, func(w *zip.Writer) {
			addEntry(t, w, "index.html", 0o644, "bad")
			addEntry(t, w, outside, 0o644, "evil")
		})},
		{"traversal", zipWith(t, func(w *zip.Writer) {
			addEntry(t, w, "index.html", 0o644, "bad")
			addEntry(t, w, "../evil.html", 0o644, "evil")
		})},
		{"nested traversal", zipWith(t, func(w *zip.Writer) {
			addEntry(t, w, "index.html", 0o644, "bad")
			addEntry(t, w, "a/../../evil.html", 0o644, "evil")
		})},
		{"backslash traversal", zipWith(t, func(w *zip.Writer) {
			addEntry(t, w, "index.html", 0o644, "bad")
			addEntry(t, w, `..\evil.html`, 0o644, "evil")
		})},
		{"symlink", zipWith(t, func(w *zip.Writer) {
			addEntry(t, w, "index.html", 0o644, "bad")
			addEntry(t, w, "passwd", fs.ModeSymlink|0o777, "/etc/passwd")
		})},
		{"symlinked directory", zipWith(t, func(w *zip.Writer) {
			addEntry(t, w, "up", fs.ModeSymlink|0o777, "..")
			addEntry(t, w, "up/evil.html", 0o644, "evil")
		})},
		{"too many files", zipWith(t, func(w *zip.Writer) {
			for i := range 10_001 {
				addEntry(t, w, fmt.Sprintf("f%05d.txt", i), 0o644, "")
			}
		})},
		{"not a zip", []byte("<html>this is not a zip archive</html>")},
		{"truncated zip", siteZip(t, map[string]string{"index.html": "bad"})[:40]},
		{"empty body", []byte{}},
		{"empty archive", zipWith(t, func(*zip.Writer) {})},
		{"only directories", zipWith(t, func(w *zip.Writer) {
			addEntry(t, w, "assets/", fs.ModeDir|0o755, "")
		})},
	}
	for _, c := range cases {
		r := putSite(api, bytes.NewReader(c.archive), "application/zip")
		if r.status != http.StatusBadRequest || r.errorCode() != "invalid_archive" {
			t.Errorf("%s: %d %s, want 400 invalid_archive", c.name, r.status, r.body)
		}
		if s := siteOf(api); s.currentID() != live.currentID() || len(s.Releases) != 1 {
			t.Errorf("%s: the site changed: %+v", c.name, s)
		}
		if got := liveFile(api, "index.html"); got != "good" {
			t.Errorf("%s: live index.html = %q", c.name, got)
		}
		if _, err := os.Lstat(outside); err == nil {
			t.Fatalf("%s: a file was written outside the site directory", c.name)
		}
		assertNoSiteLeftovers(t, api)
	}
}

// unsized hides a reader's length, so the request goes out chunked without Content-Length.
type unsized struct{ io.Reader }

func TestAdminSiteSizeLimit(t *testing.T) {
	api := newTestAPI(t, func(c *Config) { c.MaxSiteBytes = 1024 })
	adm := api.adminClient()
	small := siteZip(t, map[string]string{"index.html": "small"})
	if len(small) >= 1024 {
		t.Fatalf("test archive is %d bytes", len(small))
	}
	var live siteState
	adm.mustStatus(http.StatusCreated, putSite(api, bytes.NewReader(small), "application/zip")).decode(&live)
	// A small archive sent chunked is fine too.
	adm.mustStatus(http.StatusCreated, putSite(api, unsized{bytes.NewReader(small)}, "application/zip")).decode(&live)

	noise := make([]byte, 4096)
	_, _ = rand.Read(noise)
	big := zipWith(t, func(w *zip.Writer) {
		addEntry(t, w, "index.html", 0o644, "big")
		addEntry(t, w, "noise.bin", 0o644, string(noise))
	})
	just := make([]byte, 1025)
	copy(just, small)
	for _, c := range []struct {
		name string
		body io.Reader
	}{
		{"with Content-Length", bytes.NewReader(big)},
		{"chunked", unsized{bytes.NewReader(big)}},
		{"one byte over, with Content-Length", bytes.NewReader(just)},
		{"one byte over, chunked", unsized{bytes.NewReader(just)}},
	} {
		r := putSite(api, c.body, "application/zip")
		if r.status != http.StatusRequestEntityTooLarge || r.errorCode() != "payload_too_large" {
			t.Errorf("%s: %d %s, want 413 payload_too_large", c.name, r.status, r.body)
		}
		if s := siteOf(api); s.currentID() != live.currentID() || len(s.Releases) != 2 {
			t.Errorf("%s: the site changed: %+v", c.name, s)
		}
		if got := liveFile(api, "index.html"); got != "small" {
			t.Errorf("%s: live index.html = %q", c.name, got)
		}
		assertNoSiteLeftovers(t, api)
	}
}
