package coreapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/testenv"
	"github.com/backpackhq/backpack/internal/teststore"
	"github.com/backpackhq/backpack/tools/credentials"
	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/ephemeral"
	"github.com/backpackhq/backpack/tools/httpapi"
)

const (
	testAPIKey     = "test-api-key-0123456789"
	testAdminToken = "test-admin-token-0123456789"
)

// testAPI is one API replica served over real HTTP, backed by teststore.New and a real
// redis-server.
type testAPI struct {
	t      *testing.T
	srv    *Server
	store  docstore.Store
	url    string
	admin  string
	cfg    Config
	redis  string
	emails atomic.Int64
}

func newTestAPI(t *testing.T, modify ...func(*Config)) *testAPI {
	t.Helper()
	return newTestAPIOn(t, teststore.New(t), modify...)
}

// newTestAPIOn is newTestAPI on a store the test opened itself (a server it stops, say).
func newTestAPIOn(t *testing.T, store docstore.Store, modify ...func(*Config)) *testAPI {
	t.Helper()
	redisURL := testenv.Redis(t)
	eph, err := ephemeral.NewRedis(context.Background(), redisURL, "t:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eph.Close() })
	cfg := Config{APIKey: testAPIKey, AdminToken: testAdminToken, FilesDir: t.TempDir(), SiteDir: t.TempDir(),
		CORSOrigins: []string{"https://shop.example.com"},
		// Tests sign up many users from one address; the sign-up throttle has its own tests.
		Limits: credentials.Limits{RegistrationsPerAddress: 10000},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	for _, m := range modify {
		m(&cfg)
	}
	srv, err := New(context.Background(), cfg, store, eph)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	pub := httptest.NewServer(srv.Handler())
	adm := httptest.NewServer(srv.AdminHandler())
	t.Cleanup(pub.Close)
	t.Cleanup(adm.Close)
	return &testAPI{t: t, srv: srv, store: store, url: pub.URL, admin: adm.URL, cfg: cfg, redis: redisURL}
}

// client is one end user's browser-like client: a cookie jar and the API key.
type client struct {
	api    *testAPI
	http   *http.Client
	apiKey string
	token  string
	header http.Header
}

func (a *testAPI) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{api: a, http: &http.Client{Jar: jar}, apiKey: testAPIKey, header: http.Header{}}
}

// signedIn registers a fresh user, signs in with a cookie and returns the client and user id.
func (a *testAPI) signedIn() (*client, string) {
	a.t.Helper()
	c := a.client()
	email := "user" + strings.Repeat("x", int(a.emails.Add(1))) + "@example.com"
	c.mustStatus(http.StatusCreated, c.post("/auth/register", map[string]string{"email": email, "password": "password123"}))
	r := c.mustStatus(http.StatusOK, c.post("/auth/login", map[string]string{"email": email, "password": "password123"}))
	var u struct {
		ID string `json:"_id"`
	}
	r.decode(&u)
	return c, u.ID
}

type response struct {
	t      *testing.T
	status int
	header http.Header
	body   []byte
}

func (r *response) decode(v any) {
	r.t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		r.t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r *response) errorCode() string {
	var e httpapi.ErrorBody
	_ = json.Unmarshal(r.body, &e)
	return e.Error.Code
}

func (c *client) mustStatus(want int, r *response) *response {
	c.api.t.Helper()
	if r.status != want {
		c.api.t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	return r
}

// expectError checks a response is the contract's error shape with this status and code.
func (c *client) expectError(r *response, status int, code string) {
	c.api.t.Helper()
	if r.status != status || r.errorCode() != code {
		c.api.t.Fatalf("got %d %s, want %d %s", r.status, r.body, status, code)
	}
	var e httpapi.ErrorBody
	r.decode(&e)
	if e.Error.Message == "" {
		c.api.t.Fatalf("error without message: %s", r.body)
	}
}

func (c *client) raw(method, path string, body io.Reader, contentType string) *response {
	c.api.t.Helper()
	req, err := http.NewRequest(method, c.api.url+path, body)
	if err != nil {
		c.api.t.Fatal(err)
	}
	if c.apiKey != "" {
		req.Header.Set("X-API-Key", c.apiKey)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.api.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &response{t: c.api.t, status: res.StatusCode, header: res.Header, body: b}
}

func (c *client) send(method, path string, body any) *response {
	c.api.t.Helper()
	if body == nil {
		return c.raw(method, path, nil, "")
	}
	var r io.Reader
	switch b := body.(type) {
	case string:
		r = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	return c.raw(method, path, r, "application/json")
}

func (c *client) get(path string) *response             { return c.send(http.MethodGet, path, nil) }
func (c *client) post(path string, body any) *response  { return c.send(http.MethodPost, path, body) }
func (c *client) put(path string, body any) *response   { return c.send(http.MethodPut, path, body) }
func (c *client) patch(path string, body any) *response { return c.send(http.MethodPatch, path, body) }
func (c *client) del(path string) *response             { return c.send(http.MethodDelete, path, nil) }

// multipartBody builds an upload form; parts are written in the order given.
type formPart struct {
	field, filename, contentType string
	data                         []byte
}

func multipartBody(parts ...formPart) (io.Reader, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		if p.filename == "" && p.field != "file" {
			_ = w.WriteField(p.field, string(p.data))
			continue
		}
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{`form-data; name="` + p.field + `"; filename="` + p.filename + `"`}
		if p.contentType != "" {
			h["Content-Type"] = []string{p.contentType}
		}
		pw, _ := w.CreatePart(h)
		_, _ = pw.Write(p.data)
	}
	_ = w.Close()
	return &buf, w.FormDataContentType()
}

func (c *client) upload(method, path string, parts ...formPart) *response {
	c.api.t.Helper()
	body, ct := multipartBody(parts...)
	return c.raw(method, path, body, ct)
}

// doc is a JSON object as returned by the API.
type doc map[string]any

func (r *response) doc() doc {
	var d doc
	r.decode(&d)
	return d
}

func (r *response) docs() []doc {
	var ds []doc
	r.decode(&ds)
	return ds
}

// serve runs one request through a handler in-process.
func serve(h http.Handler, method, path string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func mustParse(raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	return u
}

// waitFor polls cond until it holds, failing the test after five seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// replica starts another replica of the same backend: same configuration, same database, same
// Redis, its own HTTP listeners, as a second task of a Swarm service would be.
func (a *testAPI) replica() *testAPI {
	a.t.Helper()
	return a.replicaWith(a.cfg)
}

// replicaWith starts a replica on the same database and Redis with another configuration, as
// an operator changing a secret and restarting would.
func (a *testAPI) replicaWith(cfg Config) *testAPI {
	a.t.Helper()
	return a.replicaOn(cfg, "t:")
}

// deafReplica starts a replica on the same database that hears none of the others' events
// (its Redis keys and channels have their own prefix), like one that missed them.
func (a *testAPI) deafReplica() *testAPI {
	a.t.Helper()
	return a.replicaOn(a.cfg, "deaf:")
}

// replicaOn starts a replica on the same database with its Redis keys and channels under prefix.
func (a *testAPI) replicaOn(cfg Config, prefix string) *testAPI {
	a.t.Helper()
	eph, err := ephemeral.NewRedis(context.Background(), a.redis, prefix)
	if err != nil {
		a.t.Fatal(err)
	}
	a.t.Cleanup(func() { _ = eph.Close() })
	srv, err := New(context.Background(), cfg, a.store, eph)
	if err != nil {
		a.t.Fatal(err)
	}
	a.t.Cleanup(srv.Close)
	pub := httptest.NewServer(srv.Handler())
	adm := httptest.NewServer(srv.AdminHandler())
	a.t.Cleanup(pub.Close)
	a.t.Cleanup(adm.Close)
	return &testAPI{t: a.t, srv: srv, store: a.store, url: pub.URL, admin: adm.URL, cfg: cfg, redis: a.redis}
}

// on returns a copy of the client that talks to another replica with the same credentials.
func (c *client) on(other *testAPI) *client {
	cp := *c
	cp.api = other
	jar, _ := cookiejar.New(nil)
	jar.SetCookies(mustParse(other.url), c.http.Jar.Cookies(mustParse(c.api.url)))
	cp.http = &http.Client{Jar: jar}
	return &cp
}
