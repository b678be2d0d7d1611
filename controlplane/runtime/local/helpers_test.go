package local

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backpackhq/backpack/controlplane/runtime"
)

const (
	testPassword = "correct horse battery staple"
	testEmail    = "ada@example.com"
)

// newTestRuntime starts a runtime on dataDir with the embedded database, closed at cleanup
// (closing twice is fine, so tests may close it earlier to restart). The context given to New
// ends as soon as it returns, as a start timeout would.
func newTestRuntime(t testing.TB, dataDir string) *Runtime {
	t.Helper()
	// The context only bounds the start: the runtime (and its embedded database) lives on.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := New(ctx, Config{
		DataDir: dataDir, AllowLoopbackOrigins: true, LogLines: 200,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

func testSpec(name, apiKey string) runtime.Spec {
	return runtime.Spec{Name: name, APIKey: apiKey, AdminToken: "admin-token-of-" + name + "-0123456789",
		CORSOrigins: []string{"http://" + name + ".localhost:8080"}}
}

// progressLog collects Progress messages.
type progressLog struct {
	mu   sync.Mutex
	msgs []string
}

func (p *progressLog) add(m string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, m)
}

func (p *progressLog) has(m string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, got := range p.msgs {
		if got == m {
			return true
		}
	}
	return false
}

func mustApply(t testing.TB, r *Runtime, spec runtime.Spec) *progressLog {
	t.Helper()
	var p progressLog
	node, err := r.Apply(context.Background(), spec, p.add)
	if err != nil {
		t.Fatalf("Apply %s: %v", spec.Name, err)
	}
	if node != Node {
		t.Fatalf("Apply returned node %q", node)
	}
	return &p
}

func mustRemove(t *testing.T, r *Runtime, name string, purge bool) {
	t.Helper()
	if err := r.Remove(context.Background(), name, Node, purge, nil); err != nil {
		t.Fatalf("Remove %s (purge %v): %v", name, purge, err)
	}
}

// reply is a response read in full.
type reply struct {
	status int
	header http.Header
	body   string
}

func (r reply) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

func serve(h http.Handler, req *http.Request) reply {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return reply{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
}

func jsonBody(v any) io.Reader {
	if v == nil {
		return nil
	}
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}

// public sends a request to the backend's public handler, in-process as the control plane's
// host router does.
func public(t *testing.T, r *Runtime, name, apiKey, method, path string, body any) reply {
	t.Helper()
	h, ok := r.PublicHandler(name)
	if !ok {
		t.Fatalf("no public handler for %s", name)
	}
	req := httptest.NewRequest(method, path, jsonBody(body))
	req.Header.Set("X-API-Key", apiKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return serve(h, req)
}

// publicAs is public with an end user's bearer token.
func publicAs(t *testing.T, r *Runtime, name, apiKey, token, method, path string, body any) reply {
	t.Helper()
	h, ok := r.PublicHandler(name)
	if !ok {
		t.Fatalf("no public handler for %s", name)
	}
	req := httptest.NewRequest(method, path, jsonBody(body))
	req.Header.Set("X-API-Key", apiKey)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return serve(h, req)
}

func login(t *testing.T, r *Runtime, name, apiKey string) int {
	t.Helper()
	return public(t, r, name, apiKey, http.MethodPost, "/auth/login", map[string]string{"email": testEmail, "password": testPassword}).status
}

// admin sends a request over HTTP to the backend's admin listener, as the control plane's
// proxy does; token "" sends none.
func admin(t *testing.T, r *Runtime, name, token, method, path string, body io.Reader, contentType string) reply {
	t.Helper()
	base, err := r.AdminURL(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return reply{status: res.StatusCode, header: res.Header, body: string(b)}
}

func adminJSON(t *testing.T, r *Runtime, spec runtime.Spec, method, path string, body any) reply {
	t.Helper()
	ct := ""
	if body != nil {
		ct = "application/json"
	}
	return admin(t, r, spec.Name, spec.AdminToken, method, path, jsonBody(body), ct)
}

func wantStatus(t *testing.T, what string, got reply, want int) {
	t.Helper()
	if got.status != want {
		t.Fatalf("%s: status %d, want %d: %s", what, got.status, want, got.body)
	}
}

// noteTitles lists the titles in the notes collection through the admin port.
func noteTitles(t *testing.T, r *Runtime, spec runtime.Spec) []string {
	t.Helper()
	res := adminJSON(t, r, spec, http.MethodGet, "/admin/collections/notes/docs", nil)
	if res.status == http.StatusNotFound {
		return nil
	}
	wantStatus(t, "list notes", res, http.StatusOK)
	var docs []struct {
		Title string `json:"title"`
	}
	res.json(t, &docs)
	var titles []string
	for _, d := range docs {
		titles = append(titles, d.Title)
	}
	return titles
}

// siteZip builds a site archive of name, body pairs.
func siteZip(t *testing.T, pairs ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for i := 0; i+1 < len(pairs); i += 2 {
		f, err := w.Create(pairs[i])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(f, pairs[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// site sends a request to the backend's site handler.
func site(t *testing.T, r *Runtime, name, method, path string, header http.Header) reply {
	t.Helper()
	h, ok := r.SiteHandler(name)
	if !ok {
		t.Fatalf("no site handler for %s", name)
	}
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	return serve(h, req)
}

// logLines reads a backend's logs without following.
func logLines(t *testing.T, r *Runtime, name string, opts runtime.LogOptions) []string {
	t.Helper()
	var buf bytes.Buffer
	if err := r.Logs(context.Background(), name, opts, &buf); err != nil {
		t.Fatalf("Logs(%s, %+v): %v", name, opts, err)
	}
	s := strings.TrimSuffix(buf.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
