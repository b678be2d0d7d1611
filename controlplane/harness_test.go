package controlplane

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backpackhq/backpack/controlplane/runtime"
	"github.com/backpackhq/backpack/controlplane/runtime/local"
	"github.com/backpackhq/backpack/controlplane/store"
	"github.com/backpackhq/backpack/tools/credentials"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/backpackhq/backpack/tools/secretbox"
	"github.com/gorilla/websocket"
)

// testLog shows warnings and errors only, so failing tests stay readable.
var testLog = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// testPlane is a control plane on real parts — SQLite (or PostgreSQL) store, the local runtime
// with an in-process FerretDB — served over real HTTP. Every host name resolves to its server,
// so requests carry the host names a browser would (admin.localhost, NAME-be.localhost…).
type testPlane struct {
	t       *testing.T
	dir     string
	store   store.Store
	rt      runtime.Runtime
	local   *local.Runtime
	cp      *Server
	srv     *httptest.Server
	cfg     Config
	wrap    func(runtime.Runtime) runtime.Runtime
	openDB  func() store.Store
	emails  atomic.Int64
	stopped bool
}

type planeOption func(*testPlane)

// withRuntime wraps the local runtime (to inject faults) before the control plane gets it.
func withRuntime(wrap func(runtime.Runtime) runtime.Runtime) planeOption {
	return func(p *testPlane) { p.wrap = wrap }
}

func withConfig(modify func(*Config)) planeOption {
	return func(p *testPlane) {
		prev := p.cfg
		modify(&prev)
		p.cfg = prev
	}
}

func withStore(open func() store.Store) planeOption {
	return func(p *testPlane) { p.openDB = open }
}

func newTestPlane(t *testing.T, opts ...planeOption) *testPlane {
	t.Helper()
	p := &testPlane{t: t, dir: t.TempDir(), cfg: Config{
		Domain: "localhost", PublicScheme: "http", Registration: store.RegistrationOpen,
		ReconcileInterval: 100 * time.Millisecond, HealthInterval: 200 * time.Millisecond,
		RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond, ReadyTimeout: 10 * time.Second,
		// Tests sign up many developers from one address; the sign-up throttle has its own tests.
		Limits: credentials.Limits{RegistrationsPerAddress: 10000},
		Logger: testLog,
	}}
	// Scheduled backups are opted into by the tests of the scheduler.
	p.cfg.BackupDir, p.cfg.BackupSchedule = filepath.Join(p.dir, "backups"), store.ScheduleOff
	p.openDB = func() store.Store {
		st, err := store.OpenSQLite(context.Background(), filepath.Join(p.dir, "cp.db"))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	for _, o := range opts {
		o(p)
	}
	box, err := secretbox.New(bytes.Repeat([]byte{42}, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	p.cfg.Secrets = box
	p.start()
	t.Cleanup(p.stop)
	return p
}

// start opens the store and runtime on the plane's directory and serves a new control plane.
func (p *testPlane) start() {
	t := p.t
	p.store = p.openDB()
	rt, err := local.New(context.Background(), local.Config{DataDir: filepath.Join(p.dir, "runtime"), AllowLoopbackOrigins: true, Logger: testLog})
	if err != nil {
		t.Fatal(err)
	}
	p.local, p.rt = rt, runtime.Runtime(rt)
	if p.wrap != nil {
		p.rt = p.wrap(rt)
	}
	p.srv = httptest.NewUnstartedServer(nil)
	p.srv.Start()
	cfg := p.cfg
	cfg.Store, cfg.Runtime = p.store, p.rt
	cfg.PublicPort = p.port()
	p.cp, err = New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.srv.Config.Handler = p.cp.Handler()
	p.stopped = false
}

// stop shuts everything down the way cmd/backpack does.
func (p *testPlane) stop() {
	if p.stopped {
		return
	}
	p.stopped = true
	p.srv.CloseClientConnections()
	p.srv.Close()
	p.cp.Close()
	_ = p.local.Close()
	_ = p.store.Close()
}

// restart is a control plane process restart: nothing survives but the data directory.
func (p *testPlane) restart() {
	p.stop()
	p.start()
}

func (p *testPlane) port() string {
	_, port, _ := net.SplitHostPort(p.srv.Listener.Addr().String())
	return port
}

// url is http://HOST.localhost:PORT + path.
func (p *testPlane) url(host, path string) string {
	return "http://" + host + ".localhost:" + p.port() + path
}

// transport sends every request to the plane's listener, whatever the host name says.
func (p *testPlane) transport() *http.Transport {
	return &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, p.srv.Listener.Addr().String())
	}}
}

// dev is a developer's browser-like client of the control plane: a cookie jar and the CSRF
// header taken from the bkpk_csrf cookie, as the admin panel does.
type dev struct {
	p      *testPlane
	http   *http.Client
	email  string
	noCSRF bool
}

func (p *testPlane) anonymous() *dev {
	jar, _ := cookiejar.New(nil)
	return &dev{p: p, http: &http.Client{Jar: jar, Transport: p.transport()}}
}

// developer registers a new account and returns its signed-in client.
func (p *testPlane) developer() *dev {
	d := p.anonymous()
	d.email = "dev" + strconv.FormatInt(p.emails.Add(1), 10) + "@example.com"
	d.mustStatus(http.StatusCreated, d.post("/api/auth/register", map[string]any{"email": d.email, "password": "a long password"}))
	return d
}

// on is the same browser (cookies included) sending its requests to another plane, as a
// balancer in front of two control planes would.
func (d *dev) on(p *testPlane) *dev {
	other := *d
	other.p = p
	other.http = &http.Client{Jar: d.http.Jar, Transport: p.transport()}
	return &other
}

func (d *dev) csrf() string {
	u, _ := url.Parse(d.p.url("admin", "/"))
	for _, c := range d.http.Jar.Cookies(u) {
		if c.Name == csrfCookie {
			return c.Value
		}
	}
	return ""
}

type resp struct {
	t      *testing.T
	status int
	header http.Header
	body   []byte
}

func (d *dev) raw(method, path string, body io.Reader, contentType string) *resp {
	d.p.t.Helper()
	req, err := http.NewRequest(method, d.p.url("admin", path), body)
	if err != nil {
		d.p.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if !d.noCSRF && method != http.MethodGet {
		req.Header.Set(csrfHeader, d.csrf())
	}
	return do(d.p.t, d.http, req)
}

func do(t *testing.T, c *http.Client, req *http.Request) *resp {
	t.Helper()
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &resp{t: t, status: res.StatusCode, header: res.Header, body: b}
}

func (d *dev) send(method, path string, body any) *resp {
	d.p.t.Helper()
	if body == nil {
		return d.raw(method, path, nil, "")
	}
	b, _ := json.Marshal(body)
	return d.raw(method, path, bytes.NewReader(b), "application/json")
}

func (d *dev) get(path string) *resp { d.p.t.Helper(); return d.send(http.MethodGet, path, nil) }
func (d *dev) post(path string, body any) *resp {
	d.p.t.Helper()
	return d.send(http.MethodPost, path, body)
}
func (d *dev) patch(path string, body any) *resp {
	d.p.t.Helper()
	return d.send(http.MethodPatch, path, body)
}
func (d *dev) delete(path string) *resp { d.p.t.Helper(); return d.send(http.MethodDelete, path, nil) }

func (d *dev) mustStatus(status int, r *resp) *resp {
	d.p.t.Helper()
	if r.status != status {
		d.p.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

// expectError checks the contract's error shape, status and code.
func (r *resp) expectError(status int, code string) *httpapi.ErrorDetail {
	r.t.Helper()
	var e httpapi.ErrorBody
	if err := json.Unmarshal(r.body, &e); err != nil || r.status != status || e.Error.Code != code {
		r.t.Fatalf("got %d %s, want %d with code %q", r.status, r.body, status, code)
	}
	if e.Error.Message == "" {
		r.t.Fatalf("error %q has no message", code)
	}
	return &e.Error
}

func (r *resp) decode(v any) {
	r.t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		r.t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r *resp) backend() backendJSON {
	var b backendJSON
	r.decode(&b)
	return b
}

// createBackend asks for a backend and waits until the events say it runs.
func (d *dev) createBackend(name string) backendJSON {
	d.p.t.Helper()
	d.mustStatus(http.StatusAccepted, d.post("/api/backends", map[string]any{"name": name}))
	d.waitState(name, "running")
	return d.mustStatus(http.StatusOK, d.get("/api/backends/"+name)).backend()
}

// waitState polls the backend until it reaches state (events are tested on their own).
func (d *dev) waitState(name, state string) backendJSON {
	d.p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last *resp
	for time.Now().Before(deadline) {
		last = d.get("/api/backends/" + name)
		if last.status == http.StatusOK && last.backend().State == state {
			return last.backend()
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.p.t.Fatalf("backend %s never reached %s: %d %s", name, state, last.status, last.body)
	return backendJSON{}
}

// events reads the backend's server-sent events until the stream ends.
func (d *dev) events(name string) []eventJSON {
	d.p.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, d.p.url("admin", "/api/backends/"+name+"/events"), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := do(d.p.t, d.http, req.WithContext(ctx))
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/event-stream") {
		d.p.t.Fatalf("events: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	var out []eventJSON
	sawEnd := false
	for _, block := range strings.Split(string(r.body), "\n\n") {
		for _, line := range strings.Split(block, "\n") {
			if line == "event: end" {
				sawEnd = true
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok && !sawEnd {
				var e eventJSON
				if err := json.Unmarshal([]byte(data), &e); err != nil {
					d.p.t.Fatalf("event data %q: %v", data, err)
				}
				out = append(out, e)
			}
		}
	}
	if !sawEnd {
		d.p.t.Fatalf("the event stream did not end with an end event: %s", r.body)
	}
	return out
}

// endUser is a client of one backend's public API through the host router.
type endUser struct {
	p      *testPlane
	name   string
	apiKey string
	http   *http.Client
}

func (p *testPlane) endUser(name, apiKey string) *endUser {
	jar, _ := cookiejar.New(nil)
	return &endUser{p: p, name: name, apiKey: apiKey, http: &http.Client{Jar: jar, Transport: p.transport()}}
}

func (u *endUser) send(method, path string, body any) *resp {
	u.p.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, u.p.url(u.name+"-be", path), r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-API-Key", u.apiKey)
	return do(u.p.t, u.http, req)
}

// dialWS opens a websocket on a URL of the plane's listener, with the given headers.
func (p *testPlane) dialWS(rawURL string, header http.Header, jar http.CookieJar) (*websocket.Conn, *http.Response, error) {
	dialer := websocket.Dialer{Jar: jar, HandshakeTimeout: 5 * time.Second,
		NetDialContext: p.transport().DialContext}
	return dialer.Dial(rawURL, header)
}

// readJSON reads websocket messages until pred accepts one, or fails after a timeout.
func readJSON(t *testing.T, conn *websocket.Conn, pred func(map[string]any) bool) map[string]any {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var m map[string]any
		if err := conn.ReadJSON(&m); err != nil {
			t.Fatalf("websocket read: %v", err)
		}
		if pred(m) {
			return m
		}
	}
}

func sleep() { time.Sleep(50 * time.Millisecond) }
