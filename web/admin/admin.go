// Package admin embeds the admin panel so the control plane binary serves it: plain HTML, CSS
// and ES modules served as they are, so `go build` needs no Node and what runs is what is in
// the repository. Pages are drawn by the scripts from the control plane's own JSON API.
package admin

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// Pages are the panel's URLs. Each answers the same page and its script draws the view the path
// names, so a reload or a pasted link opens the same view. "/assets/" holds the scripts and
// styles.
var Pages = []string{"/", "/signin", "/signup", "/new", "/settings", "/backends/*", "/assets/*"}

// policy keeps the panel to its own scripts, styles and API: nothing inline, nothing from
// elsewhere, no framing. A value that slipped past escaping still could not run.
const policy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// file is one embedded asset with its validator.
type file struct {
	body        []byte
	contentType string
	etag        string
}

var files = map[string]file{}

func init() {
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ct := mime.TypeByExtension(path.Ext(p))
		if path.Ext(p) == ".js" {
			ct = "text/javascript; charset=utf-8"
		}
		files[strings.TrimPrefix(p, "static")] = file{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("web/admin: " + err.Error())
	}
	if _, ok := files["/index.html"]; !ok {
		panic("web/admin: static/index.html is missing")
	}
}

// Handler serves an asset under /assets/ and the panel's page for every other path it is given.
// Every answer is revalidated by ETag, so a new binary reaches browsers at once.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := "/index.html"
		if strings.HasPrefix(r.URL.Path, "/assets/") {
			name = r.URL.Path
		}
		f, ok := files[name]
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if !ok {
			h.Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"code":"not_found","message":"no such file in the admin panel"}}` + "\n"))
			return
		}
		h.Set("Content-Type", f.contentType)
		h.Set("ETag", f.etag)
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Security-Policy", policy)
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
	})
}
