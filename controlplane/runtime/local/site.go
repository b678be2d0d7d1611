package local

import (
	"fmt"
	"html"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// siteHandler serves a backend's current site release, the job nginx does in a Swarm stack.
type siteHandler struct {
	name    string
	current string // SiteDir/current, the symlink siterelease switches atomically
	access  *slog.Logger
}

func newSiteHandler(name, siteDir string, access *ring) *siteHandler {
	return &siteHandler{
		name:    name,
		current: filepath.Join(siteDir, "current"),
		access:  slog.New(slog.NewJSONHandler(access, nil)),
	}
}

// ServeHTTP opens the release current points to at this moment, so every request sees one
// whole release even while a new one is switched in, and reads files only through an os.Root
// on it, so no request path or link inside a release reaches outside it.
func (h *siteHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w}
	h.serve(rec, r)
	h.access.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", rec.statusCode()), slog.Int64("bytes", rec.bytes))
}

func (h *siteHandler) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	root, err := os.OpenRoot(h.current)
	if err != nil {
		h.noSite(w)
		return
	}
	defer root.Close()
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	f, served, err := openPage(root, name)
	if err != nil && path.Ext(name) == "" {
		// A client-side route of a single-page app: the app's index.html renders it.
		f, served, err = openPage(root, "index.html")
	}
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	// A release's files never change (a new upload is a new release), so size and modification
	// time identify a file's content.
	w.Header().Set("ETag", fmt.Sprintf(`"%x-%x"`, info.ModTime().UnixNano(), info.Size()))
	if path.Base(served) == "index.html" {
		// The entry page names the current assets, so browsers must check it on every visit.
		w.Header().Set("Cache-Control", "no-cache")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=300")
	}
	http.ServeContent(w, r, served, info.ModTime(), f)
}

// openPage opens a regular file, or a directory's index.html; served is the file's name.
func openPage(root *os.Root, name string) (f *os.File, served string, err error) {
	if name == "" {
		name = "index.html"
	}
	for range 2 {
		f, err = root.Open(name)
		if err != nil {
			return nil, "", err
		}
		info, err := f.Stat()
		switch {
		case err != nil:
			f.Close()
			return nil, "", err
		case info.Mode().IsRegular():
			return f, name, nil
		case info.IsDir():
			f.Close()
			name = path.Join(name, "index.html")
		default:
			f.Close()
			return nil, "", fs.ErrNotExist
		}
	}
	return nil, "", fs.ErrNotExist
}

// noSite tells a visitor, in a page a browser shows, that the backend exists but has no site.
func (h *siteHandler) noSite(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusNotFound)
	name := html.EscapeString(h.name)
	fmt.Fprintf(w, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>No site yet: %s</title></head>\n"+
		"<body><h1>No site yet</h1><p>No site has been uploaded for <strong>%s</strong> yet.</p></body></html>\n", name, name)
}

// recorder notes the status and size of a response for the access log.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) statusCode() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
