package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/testenv"
	"github.com/gorilla/websocket"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds backpack-api once per test run, so these tests exercise the real process:
// flags, environment, signals and exit codes.
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("short mode: skipping tests that build and run the backpack-api binary")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "backpack-api-test")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "backpack-api")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			binPath = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build backpack-api: %v\n%s", buildErr, binPath)
	}
	return binPath
}

// proc is a running backpack-api.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string
	output *testenv.SyncBuffer
	done   chan error
}

// publicAddr is the address the process logged for its public listener, or "".
var publicAddr = regexp.MustCompile(`"msg":"listening","listener":"public","addr":"([^"]+)"`)

// start runs backpack-api on ports it picks itself (0), and learns them from its log, so no
// other test can take the port between choosing and binding it.
func start(t *testing.T, args []string, env map[string]string) *proc {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	// No load balancer in front: no drain, unless a test sets BACKPACK_DRAIN (the last of
	// a variable's values wins).
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "BACKPACK_LISTEN_HOST=127.0.0.1", "BACKPACK_PORT=0", "BACKPACK_ADMIN_PORT=0", "BACKPACK_DRAIN=0"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &proc{t: t, cmd: cmd, output: &testenv.SyncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.output, p.output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("backpack-api output:\n%s", p.output)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if p.url == "" {
			if m := publicAddr.FindStringSubmatch(p.output.String()); m != nil {
				p.url = "http://" + m[1]
			}
		}
		res, err := http.Get(p.url + "/readyz")
		if p.url != "" && err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("backpack-api exited before it was ready (%v):\n%s", err, p.output)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("backpack-api not ready after 30s:\n%s", p.output)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and expects a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			p.t.Fatalf("exit after SIGTERM: %v\n%s", err, p.output)
		}
	case <-time.After(25 * time.Second):
		p.t.Fatal("no exit within 25s of SIGTERM")
	}
}

type call struct {
	key, token string
}

func (c call) do(t *testing.T, method, url string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		r = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, url, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(t, req)
}

func (c call) send(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	req.Header.Set("X-API-Key", c.key)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	if out == nil {
		out = map[string]any{"raw": string(raw)}
	}
	return res.StatusCode, out
}

// getJSON sends req and decodes a JSON answer into out, for answers that are not objects.
func (c call) getJSON(t *testing.T, req *http.Request, out any) int {
	t.Helper()
	status, body := c.send(t, req)
	if raw, ok := body["raw"].(string); ok {
		if err := json.Unmarshal([]byte(raw), out); err != nil {
			t.Fatalf("%s %s: %v in %q", req.Method, req.URL, err, raw)
		}
	}
	return status
}

func (c call) upload(t *testing.T, url, filename, data string) int {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, _ := w.CreateFormFile("file", filename)
	_, _ = fw.Write([]byte(data))
	_ = w.Close()
	req, _ := http.NewRequest(http.MethodPost, url, &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	status, _ := c.send(t, req)
	return status
}

func expectStatus(t *testing.T, what string, got, want int, body map[string]any) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: status %d, want %d: %v", what, got, want, body)
	}
}

// TestTwoReplicas runs two API processes on one database and one Redis, as a Swarm service
// with two replicas would: a collection created through one is served by the other at once,
// and a session opened on one is valid, and ended, on both.
func TestTwoReplicas(t *testing.T) {
	mongoURL := testenv.FerretDB(t)
	redisURL := testenv.Redis(t)
	dir := t.TempDir()
	key, token := "replica-api-key-0123456789", "replica-admin-token-0123456789"
	_ = os.WriteFile(filepath.Join(dir, "api_key"), []byte(key+"\n"), 0o600)
	_ = os.WriteFile(filepath.Join(dir, "admin_token"), []byte(token), 0o600)
	env := map[string]string{
		"MONGO_URL": strings.TrimSuffix(mongoURL, "/") + "/shop", "REDIS_URL": redisURL,
		"BACKPACK_API_KEY_FILE": filepath.Join(dir, "api_key"), "BACKPACK_ADMIN_TOKEN_FILE": filepath.Join(dir, "admin_token"),
		"BACKPACK_FILES_DIR": filepath.Join(dir, "files"),
	}
	a, b := start(t, nil, env), start(t, nil, env)
	anon := call{key: key}

	status, body := anon.do(t, http.MethodPost, a.url+"/auth/register", map[string]string{"email": "ann@example.com", "password": "password123"})
	expectStatus(t, "register on A", status, http.StatusCreated, body)
	status, body = anon.do(t, http.MethodPost, b.url+"/auth/token", map[string]string{"email": "ann@example.com", "password": "password123"})
	expectStatus(t, "token on B", status, http.StatusOK, body)
	ann := call{key: key, token: body["token"].(string)}
	status, body = ann.do(t, http.MethodGet, a.url+"/auth/me", nil)
	expectStatus(t, "session from B used on A", status, http.StatusOK, body)

	status, body = ann.do(t, http.MethodPost, a.url+"/collections", map[string]string{"name": "cars"})
	expectStatus(t, "create collection on A", status, http.StatusCreated, body)

	// A websocket client on B sees a write made over HTTP on A (fan-out through Redis).
	wsB, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(b.url, "http")+"/ws?apiKey="+key+"&token="+ann.token, nil)
	if err != nil {
		t.Fatalf("websocket on B: %v", err)
	}
	defer wsB.Close()
	status, body = ann.do(t, http.MethodPost, a.url+"/cars", map[string]any{"make": "broadcast-me"})
	expectStatus(t, "create on A for the websocket on B", status, http.StatusCreated, body)
	_ = wsB.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got struct {
		Action, Collection string
		Response           map[string]any
	}
	if err := wsB.ReadJSON(&got); err != nil || got.Action != "create" || got.Collection != "cars" || got.Response["make"] != "broadcast-me" {
		t.Fatalf("websocket on B received %+v, %v", got, err)
	}
	status, body = ann.do(t, http.MethodPost, b.url+"/cars", map[string]any{"make": "VW"})
	expectStatus(t, "create document on B", status, http.StatusCreated, body)
	id := body["_id"].(string)
	status, body = ann.do(t, http.MethodGet, a.url+"/cars/"+id, nil)
	expectStatus(t, "read it on A", status, http.StatusOK, body)
	status, body = ann.do(t, http.MethodPost, b.url+"/collections", map[string]string{"name": "cars"})
	expectStatus(t, "same collection again on B", status, http.StatusConflict, body)

	if s := ann.upload(t, a.url+"/files", "a.txt", "shared files"); s != http.StatusCreated {
		t.Fatalf("upload on A: %d", s)
	}
	status, body = ann.do(t, http.MethodGet, b.url+"/files", nil)
	expectStatus(t, "list files on B", status, http.StatusOK, body)

	status, body = ann.do(t, http.MethodPost, b.url+"/auth/logout", nil)
	expectStatus(t, "logout on B", status, http.StatusNoContent, body)
	status, body = ann.do(t, http.MethodGet, a.url+"/auth/me", nil)
	expectStatus(t, "session ended on A too", status, http.StatusUnauthorized, body)
	a.stop()
	b.stop()
}

// TestEmbeddedKeepsDataAcrossRestarts runs the embedded default as make dev does, restarts it,
// and finds users, collections, documents and files still there under the same API key.
func TestEmbeddedKeepsDataAcrossRestarts(t *testing.T) {
	dataDir := t.TempDir()
	p := start(t, []string{"--embedded", "--data-dir", dataDir, "--site-host", "shop.localhost"}, nil)
	if !strings.Contains(p.output.String(), "API key:") {
		t.Fatalf("embedded start does not print the API key:\n%s", p.output)
	}
	// A local dev server's page may call the embedded API with credentials: on a loopback
	// address or on the site host it was given, at any port; not from other *.localhost sites.
	for origin, allowed := range map[string]bool{"http://shop.localhost:5173": true, "http://localhost:5173": true, "http://other.localhost:5173": false} {
		pre, _ := http.NewRequest(http.MethodOptions, p.url+"/auth/login", nil)
		pre.Header.Set("Origin", origin)
		pre.Header.Set("Access-Control-Request-Method", "POST")
		res, err := http.DefaultClient.Do(pre)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("Access-Control-Allow-Origin") == origin; got != allowed {
			t.Fatalf("embedded preflight from %s: allowed %v, want %v", origin, got, allowed)
		}
	}
	keyBytes, err := os.ReadFile(filepath.Join(dataDir, "api-key"))
	if err != nil {
		t.Fatal(err)
	}
	anon := call{key: strings.TrimSpace(string(keyBytes))}
	status, body := anon.do(t, http.MethodPost, p.url+"/auth/register", map[string]string{"email": "ann@example.com", "password": "password123"})
	expectStatus(t, "register", status, http.StatusCreated, body)
	uid := body["_id"].(string)
	_, body = anon.do(t, http.MethodPost, p.url+"/auth/token", map[string]string{"email": "ann@example.com", "password": "password123"})
	ann := call{key: anon.key, token: body["token"].(string)}
	ann.do(t, http.MethodPost, p.url+"/collections", map[string]string{"name": "notes"})
	status, body = ann.do(t, http.MethodPost, p.url+"/notes", map[string]any{"text": "remember me"})
	expectStatus(t, "create note", status, http.StatusCreated, body)
	noteID := body["_id"].(string)
	if s := ann.upload(t, p.url+"/files", "keep.txt", "kept bytes"); s != http.StatusCreated {
		t.Fatalf("upload: %d", s)
	}
	p.stop()

	p = start(t, []string{"--embedded", "--data-dir", dataDir}, nil)
	status, body = ann.do(t, http.MethodGet, p.url+"/auth/me", nil)
	expectStatus(t, "in-memory session after restart", status, http.StatusUnauthorized, body)
	_, body = anon.do(t, http.MethodPost, p.url+"/auth/token", map[string]string{"email": "ann@example.com", "password": "password123"})
	ann.token, _ = body["token"].(string)
	status, body = ann.do(t, http.MethodGet, p.url+"/notes/"+noteID, nil)
	expectStatus(t, "note after restart", status, http.StatusOK, body)
	if body["text"] != "remember me" {
		t.Fatalf("note = %v", body)
	}
	req, _ := http.NewRequest(http.MethodGet, p.url+"/files/"+uid+"/keep.txt", nil)
	status, body = ann.send(t, req)
	if status != http.StatusOK || body["raw"] != "kept bytes" {
		t.Fatalf("file after restart: %d %v", status, body)
	}
	p.stop()
}

// TestStartupErrorsAreClear checks what an operator sees when a required setting is missing.
func TestStartupErrorsAreClear(t *testing.T) {
	cmd := exec.Command(binary(t))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "MONGO_URL") || !strings.Contains(string(out), "--embedded") {
		t.Fatalf("start without MONGO_URL: %v\n%s", err, out)
	}
	cmd = exec.Command(binary(t))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "MONGO_URL=mongodb://127.0.0.1:1/x", "REDIS_URL=redis://127.0.0.1:1/0",
		"BACKPACK_API_KEY_FILE=/nonexistent/key", "BACKPACK_ADMIN_TOKEN_FILE=/nonexistent/token"}
	out, _ = cmd.CombinedOutput()
	if !strings.Contains(string(out), "Redis") {
		t.Fatalf("unreachable Redis not named:\n%s", out)
	}
}

// healthcheck runs `backpack-api healthcheck` against p's public port and returns its exit
// code and output.
func (p *proc) healthcheck() (int, string) {
	p.t.Helper()
	u, err := url.Parse(p.url)
	if err != nil {
		p.t.Fatal(err)
	}
	cmd := exec.Command(binary(p.t), "healthcheck", "--port", u.Port())
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "BACKPACK_LISTEN_HOST=127.0.0.1"}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	}
	p.t.Fatalf("run healthcheck: %v", err)
	return -1, ""
}

// TestDrainOnSIGTERM: on SIGTERM the API leaves the load balancer without failing a request.
// For the drain, /readyz answers 503 draining (and the healthcheck subcommand says so) while
// API requests are still served; then open websockets are told 1001 going away, and the
// process exits 0.
func TestDrainOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	key := "drain-api-key-0123456789"
	_ = os.WriteFile(filepath.Join(dir, "api_key"), []byte(key), 0o600)
	_ = os.WriteFile(filepath.Join(dir, "admin_token"), []byte("drain-admin-token-0123456789"), 0o600)
	p := start(t, nil, map[string]string{
		"BACKPACK_DB_ENGINE": "sqlite", "BACKPACK_DATA_DIR": dir, "REDIS_URL": testenv.Redis(t),
		"BACKPACK_API_KEY_FILE": filepath.Join(dir, "api_key"), "BACKPACK_ADMIN_TOKEN_FILE": filepath.Join(dir, "admin_token"),
		"BACKPACK_DRAIN": "4s",
	})
	if code, out := p.healthcheck(); code != 0 {
		t.Fatalf("healthcheck of a ready API exited %d: %s", code, out)
	}
	api := call{key: key}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(p.url, "http")+"/ws?apiKey="+key, nil)
	if err != nil {
		t.Fatalf("websocket: %v", err)
	}
	defer ws.Close()
	closed := make(chan error, 1)
	go func() {
		_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				closed <- err
				return
			}
		}
	}()

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var ready map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, body := api.do(t, http.MethodGet, p.url+"/readyz", nil)
		if status == http.StatusServiceUnavailable {
			ready = body
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still answers %d %v after SIGTERM", status, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if e, _ := ready["error"].(map[string]any); e["code"] != "draining" {
		t.Fatalf("/readyz while draining = %v, want the error code draining", ready)
	}
	status, body := api.do(t, http.MethodPost, p.url+"/auth/register", map[string]string{"email": "ann@example.com", "password": "password123"})
	expectStatus(t, "a write during the drain", status, http.StatusCreated, body)
	status, body = api.do(t, http.MethodPost, p.url+"/auth/token", map[string]string{"email": "ann@example.com", "password": "password123"})
	expectStatus(t, "a sign-in during the drain", status, http.StatusOK, body)
	if code, out := p.healthcheck(); code != 1 || !strings.Contains(out, "draining") || strings.Count(strings.TrimSpace(out), "\n") > 0 {
		t.Fatalf("healthcheck while draining exited %d with %q, want 1 and one line naming draining", code, out)
	}
	select {
	case err := <-closed:
		t.Fatalf("the websocket closed during the drain: %v", err)
	default:
	}

	select {
	case err := <-closed:
		if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
			t.Fatalf("the websocket ended with %v, want close 1001 going away", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the websocket was not closed after the drain")
	}
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("exit after the drain: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit after the drain")
	}
	for _, phase := range []string{`"msg":"draining`, `"msg":"going away`, `"msg":"shut down"`} {
		if !strings.Contains(p.output.String(), phase) {
			t.Errorf("the log has no %s line", phase)
		}
	}
	if code, out := p.healthcheck(); code != 1 || !strings.HasPrefix(out, "backpack-api: healthcheck:") {
		t.Fatalf("healthcheck with no server exited %d with %q, want 1 saying why", code, out)
	}
}
