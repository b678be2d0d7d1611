package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/browsertest"
	"github.com/backpackhq/backpack/internal/testenv"
	"github.com/chromedp/chromedp"
)

// The browser tests run the real `backpack dev` binary, built once for the package, and drive
// its admin panel in headless Chromium.

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// backpackBinary builds cmd/backpack into a directory that lives as long as the test process.
func backpackBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "backpack-panel-test-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "backpack")
		out, err := exec.Command("go", "build", "-o", binary, "github.com/backpackhq/backpack/cmd/backpack").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary != "" {
		_ = os.RemoveAll(filepath.Dir(binary))
	}
	os.Exit(code)
}

var welcomePort = regexp.MustCompile(`admin API:\s+http://admin\.localhost:(\d+)/api`)

// panel is a running `backpack dev` and a headless browser pointed at it.
type panel struct {
	t       testing.TB
	port    string
	url     string // http://localhost:PORT, the panel's root in dev
	dataDir string // backpack dev's --data-dir
	browser context.Context
	console *browsertest.Console
	tabs    int
}

// startPanel starts `backpack dev` on a free port with a fresh data directory, and Chromium.
func startPanel(t testing.TB) *panel {
	t.Helper()
	allocCtx := browsertest.NewAllocator(t, chromedp.WindowSize(1280, 900))
	bin := backpackBinary(t)
	out := &testenv.SyncBuffer{}
	dataDir := t.TempDir()
	cmd := exec.Command(bin, "dev", "--data-dir", dataDir, "--port", "0")
	cmd.Env = append(os.Environ(), "BACKPACK_REGISTRATION=open", "REDIS_URL=")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("backpack dev did not stop within 30 s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("backpack dev output:\n%s", tail(out.String(), 60))
		}
	})
	var port string
	for deadline := time.Now().Add(60 * time.Second); port == "" && time.Now().Before(deadline); {
		if m := welcomePort.FindStringSubmatch(out.String()); m != nil {
			port = m[1]
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("backpack dev exited: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if port == "" {
		t.Fatalf("backpack dev printed no address:\n%s", out.String())
	}

	browser, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	p := &panel{t: t, port: port, url: "http://localhost:" + port, dataDir: dataDir, browser: browser, console: &browsertest.Console{}}
	// The first tab is the browser's own; starting it here makes later tabs share its cookies.
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	p.listen(browser, "tab1")
	t.Cleanup(func() {
		// No page of any test may throw.
		if errs := p.console.Uncaught(); len(errs) > 0 {
			t.Errorf("the pages threw: %v", errs)
		}
		if t.Failed() {
			t.Logf("browser console:\n%s", p.console)
		}
	})
	return p
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// tab opens another tab in the same browser (same cookies), e.g. for a two-tab test.
func (p *panel) tab() context.Context {
	p.tabs++
	ctx, cancel := chromedp.NewContext(p.browser)
	p.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		p.t.Fatalf("open a tab: %v", err)
	}
	p.listen(ctx, fmt.Sprintf("tab%d", p.tabs+1))
	return ctx
}

// run runs browser actions with a time limit, failing the test with what it was doing.
func (p *panel) run(ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// open navigates a tab to a panel path and waits for the page's script to draw a heading.
// A page gets more time than other actions: on a loaded two-CPU machine (make test runs the
// Swarm tests beside these) Chromium can be slow to fetch the panel's modules.
func (p *panel) open(ctx context.Context, path string) {
	p.t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	err := chromedp.Do(tctx, chromedp.Navigate(p.url+path), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if err == nil {
		p.expectNoStrayValues(ctx, path)
		return
	}
	// Say what the page was waiting for: its state and the files it did fetch.
	dctx, cancelDiag := context.WithTimeout(ctx, 5*time.Second)
	defer cancelDiag()
	loaded, _ := chromedp.Run(dctx, chromedp.Evaluate[string](`document.readyState + ': ' +
		performance.getEntriesByType('resource').map((e) => e.name.replace(location.origin, '') + ' ' + Math.round(e.duration) + 'ms').join(', ')`))
	p.t.Fatalf("open %s: %v; the page is %s", path, err, loaded)
}

// expectNoStrayValues fails the test when the page shows a JavaScript value where words should
// be ("null", "undefined", "[object Object]", "NaN"), outside the data it displays (tables, code).
func (p *panel) expectNoStrayValues(ctx context.Context, path string) {
	p.t.Helper()
	var stray []string
	p.eval(ctx, `(() => {
		const out = [];
		const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
		for (let n = walk.nextNode(); n; n = walk.nextNode()) {
			const t = n.textContent.trim();
			if (!/^(null|undefined|NaN|\[object Object\])$|\bundefined\b|\[object Object\]/.test(t)) continue;
			if (n.parentElement.closest('td, th, code, pre, textarea')) continue;
			out.push(n.parentElement.tagName + ': ' + t);
		}
		return out;
	})()`, &stray)
	if len(stray) > 0 {
		p.t.Errorf("%s shows stray values: %v", path, stray)
	}
}

// waitText waits until the element matching sel contains text.
func (p *panel) waitText(ctx context.Context, sel, text string) {
	p.t.Helper()
	p.eventually(ctx, fmt.Sprintf("%s to contain %q", sel, text), fmt.Sprintf(
		`(() => { const e = document.querySelector(%q); return !!e && e.textContent.includes(%q); })()`, sel, text))
}

// eventually waits (20 s at most) until the expression is true in the page.
func (p *panel) eventually(ctx context.Context, what, expr string) {
	p.t.Helper()
	p.eventuallyWithin(ctx, 20*time.Second, what, expr)
}

// eventuallyWithin waits until the expression is true in the page, for at most limit.
func (p *panel) eventuallyWithin(ctx context.Context, limit time.Duration, what, expr string) {
	p.t.Helper()
	if err := browsertest.WaitFor(ctx, limit, expr); err != nil {
		p.t.Fatalf("waiting for %s: %v", what, err)
	}
}

// eval evaluates a script in the page (awaiting a promise) and decodes its JSON result into out.
func (p *panel) eval(ctx context.Context, expr string, out any) {
	p.t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	raw, err := chromedp.Run(tctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		p.t.Fatalf("evaluate %s: decode %s: %v", expr, raw, err)
	}
}

// click and fill are browsertest's, under the short names the panel's tests use.
var (
	click = browsertest.Click
	fill  = browsertest.Fill
)

// screenshot saves the tab's whole page as NAME.png in the test output folder
// ($BACKPACK_TEST_OUTPUT, default test-output/ at the repository root).
func (p *panel) screenshot(ctx context.Context, name string) {
	p.t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := os.Getenv("BACKPACK_TEST_OUTPUT")
	if dir == "" {
		dir = filepath.Join("..", "..", "test-output")
	}
	dir = filepath.Join(dir, "admin-panel")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// signUp registers a developer through the panel's form and waits for the backends page.
func (p *panel) signUp(ctx context.Context, email string) {
	p.t.Helper()
	p.open(ctx, "/signup")
	p.run(ctx, "sign up "+email,
		fill(`input[name=email]`, email), fill(`input[name=password]`, "a long password"),
		click(`form button[type=submit]`))
	p.waitText(ctx, "main h1", "Backends")
}

// createBackend creates a backend through the panel and waits until it runs.
func (p *panel) createBackend(ctx context.Context, name string) {
	p.t.Helper()
	p.open(ctx, "/new")
	p.run(ctx, "create "+name, fill(`input[name=name]`, name), click(`form button[type=submit]`))
	p.waitText(ctx, ".outcome", "Running")
}

// startWithBackend starts a panel, signs ann@example.com up as its operator, creates the backend
// through the panel and returns a client signed in as ann (it carries her CSRF token).
func startWithBackend(t testing.TB, name string) (*panel, *client) {
	t.Helper()
	p := startPanel(t)
	p.signUp(p.browser, "ann@example.com")
	p.createBackend(p.browser, name)
	c := p.newClient()
	c.signIn("ann@example.com")
	return p, c
}

func (p *panel) listen(ctx context.Context, name string) {
	if err := p.console.Listen(ctx, name); err != nil {
		p.t.Fatalf("listen to %s: %v", name, err)
	}
}

// client is a plain HTTP client for the same `backpack dev`: it sets up what a test needs
// through the API, and plays end users of backends (NAME-be.localhost) without a browser.
type client struct {
	t    testing.TB
	p    *panel
	http *http.Client
	csrf string
}

// newClient makes a client whose every request reaches the dev server, whatever the host name.
func (p *panel) newClient() *client {
	jar, _ := cookiejar.New(nil)
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, "127.0.0.1:"+p.port)
	}}
	p.t.Cleanup(tr.CloseIdleConnections)
	return &client{t: p.t, p: p, http: &http.Client{Jar: jar, Transport: tr, Timeout: 20 * time.Second}}
}

// do sends a request to http://HOST:PORT/PATH (host "" is the panel's) and decodes a JSON answer
// into out (when not nil), failing the test unless the status is want.
func (c *client) do(method, host, path string, headers map[string]string, body any, want int, out any) http.Header {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	if host == "" {
		host = "localhost"
	}
	req, err := http.NewRequest(method, "http://"+host+":"+c.p.port+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		c.t.Fatalf("%s %s%s = %d, want %d: %s", method, host, path, res.StatusCode, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
	return res.Header
}

// signIn signs the client in as a developer through the control plane's API.
func (c *client) signIn(email string) {
	c.t.Helper()
	var res struct{ CSRFToken string }
	c.do(http.MethodPost, "", "/api/auth/login", nil, map[string]string{"email": email, "password": "a long password"}, http.StatusOK, &res)
	c.csrf = res.CSRFToken
}

// backend returns a backend as GET /api/backends/NAME shows it.
func (c *client) backend(name string) map[string]any {
	c.t.Helper()
	var b map[string]any
	c.do(http.MethodGet, "", "/api/backends/"+name, nil, nil, http.StatusOK, &b)
	return b
}

// endUser registers an end user of a backend through its public API and returns the headers
// that make them its caller (API key and bearer token).
func (c *client) endUser(name, email string) map[string]string {
	c.t.Helper()
	key := c.backend(name)["apiKey"].(string)
	host := name + "-be.localhost"
	h := map[string]string{"X-API-Key": key}
	creds := map[string]string{"email": email, "password": "end user password"}
	c.do(http.MethodPost, host, "/auth/register", h, creds, http.StatusCreated, nil)
	var tok struct{ Token string }
	c.do(http.MethodPost, host, "/auth/token", h, creds, http.StatusOK, &tok)
	return map[string]string{"X-API-Key": key, "Authorization": "Bearer " + tok.Token}
}
