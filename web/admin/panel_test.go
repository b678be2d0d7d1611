package admin_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestAccounts: the first account becomes the operator; sign out; a wrong password is said in
// plain words next to the form; signing in again opens where the developer was going.
func TestAccounts(t *testing.T) {
	p := startPanel(t)
	ctx := p.browser
	p.open(ctx, "/")
	p.waitText(ctx, "main h1", "Sign in")
	p.screenshot(ctx, "signin")
	p.signUp(ctx, "ann@example.com")
	p.waitText(ctx, ".account", "operator")
	p.waitText(ctx, "main", "No backends yet")
	p.screenshot(ctx, "backends-empty")

	p.run(ctx, "sign out", click(`.account button`))
	p.waitText(ctx, "main h1", "Sign in")
	p.open(ctx, "/new")
	p.waitText(ctx, "main h1", "Sign in")
	p.run(ctx, "wrong password", fill(`input[name=email]`, "ann@example.com"), fill(`input[name=password]`, "not the password"),
		click(`form button[type=submit]`))
	p.waitText(ctx, ".error", "do not match")
	p.run(ctx, "right password", fill(`input[name=password]`, "a long password"), click(`form button[type=submit]`))
	p.waitText(ctx, "main h1", "New backend")
}

// TestCreateBackend: the name is checked as it is typed, the deployment streams to the page until
// the backend runs, and the backends list follows states live.
func TestCreateBackend(t *testing.T) {
	p := startPanel(t)
	ctx := p.browser
	p.signUp(ctx, "ann@example.com")
	p.open(ctx, "/new")
	for _, c := range []struct{ typed, says string }{
		{"Shop", "lowercase"}, {"1shop", "Start with a letter"}, {"sh", "at least 3"}, {"shop-be", "-be"},
		{"admin", "kept for the platform"}, {"xn--shop", "third and fourth"}, {"shop_1", "only lowercase letters"},
	} {
		p.run(ctx, "type "+c.typed, fill(`input[name=name]`, c.typed))
		p.waitText(ctx, ".field-error", c.says)
		var disabled bool
		p.eval(ctx, `document.querySelector('form button[type=submit]').disabled`, &disabled)
		if !disabled {
			t.Errorf("create is enabled for %q", c.typed)
		}
	}
	p.run(ctx, "type a good name", fill(`input[name=name]`, "shop"))
	p.waitText(ctx, ".preview", "shop-be.localhost")
	p.screenshot(ctx, "create")
	p.run(ctx, "create", click(`form button[type=submit]`))
	p.waitText(ctx, ".outcome", "Running")
	p.waitText(ctx, ".steps", "running")
	p.waitText(ctx, ".title-row .badge", "running")
	p.screenshot(ctx, "backend-overview")

	// A taken name is said next to the field.
	p.open(ctx, "/new")
	p.run(ctx, "create again", fill(`input[name=name]`, "shop"), click(`form button[type=submit]`))
	p.waitText(ctx, ".field-error", "already in use")

	// The list follows a backend created elsewhere, without a reload.
	p.open(ctx, "/")
	p.waitText(ctx, "table.backends", "shop")
	c := p.newClient()
	c.signIn("ann@example.com")
	c.do("POST", "", "/api/backends", nil, map[string]string{"name": "blog"}, 202, nil)
	p.waitText(ctx, `tr[data-backend="blog"]`, "running")
	p.screenshot(ctx, "backends")
	c.do("DELETE", "", "/api/backends/blog?purge=true", nil, nil, 202, nil)
	p.eventually(ctx, "blog to leave the list", `!document.querySelector('tr[data-backend="blog"]')`)
}

// TestAPIKey: the key is hidden until shown, copies, and rotates after a confirmation; the old
// key stops working and the page and snippet show the new one.
func TestAPIKey(t *testing.T) {
	p, c := startWithBackend(t, "shop")
	ctx := p.browser
	old := c.backend("shop")["apiKey"].(string)

	var shown string
	p.eval(ctx, `document.querySelector('#api-key').textContent + document.querySelector('.snippet').textContent`, &shown)
	if strings.Contains(shown, old) {
		t.Fatal("the key is on screen before it was asked for")
	}
	p.run(ctx, "show the key", click(`button[aria-controls=api-key]`))
	p.waitText(ctx, "#api-key", old)
	p.waitText(ctx, ".snippet", `createSdk("http://shop-be.localhost:`+p.port+`", "`+old+`")`)
	p.run(ctx, "copy the key", click(`.key-row + .actions button:nth-child(2)`))
	p.waitText(ctx, ".key-row + .actions", "Copied")

	// Cancelling changes nothing.
	p.run(ctx, "rotate, then cancel", click(`.key-row + .actions .danger`), click(`dialog[open] button[value=cancel]`))
	if now := c.backend("shop")["apiKey"]; now != old {
		t.Fatalf("cancelled rotation changed the key to %v", now)
	}
	p.run(ctx, "rotate", click(`.key-row + .actions .danger`), click(`dialog[open] button[value=ok]`))
	p.waitText(ctx, "[role=status].hint", "New key in place")
	fresh := c.backend("shop")["apiKey"].(string)
	if fresh == old {
		t.Fatal("the key did not change")
	}
	p.waitText(ctx, "#api-key", fresh)
	p.waitText(ctx, ".snippet", fresh)
	// The old key works for the backend's overlap (10 s by default), then is refused.
	var refused, accepted struct{ Error struct{ Code string } }
	for deadline := time.Now().Add(30 * time.Second); refused.Error.Code != "invalid_api_key" && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		c.do(http.MethodGet, "shop-be.localhost", "/auth/me", map[string]string{"X-API-Key": old}, nil, http.StatusUnauthorized, &refused)
	}
	c.do(http.MethodGet, "shop-be.localhost", "/auth/me", map[string]string{"X-API-Key": fresh}, nil, http.StatusUnauthorized, &accepted)
	if refused.Error.Code != "invalid_api_key" || accepted.Error.Code != "not_signed_in" {
		t.Fatalf("old key: %q, new key: %q (want invalid_api_key, then not_signed_in: the key passed)", refused.Error.Code, accepted.Error.Code)
	}
}

// TestFailedBackend: a backend that cannot be created shows each failed attempt and the cause,
// its data sections say why they are closed instead of breaking, and it opens by itself once the
// cause is gone.
func TestFailedBackend(t *testing.T) {
	p := startPanel(t)
	ctx := p.browser
	p.signUp(ctx, "ann@example.com")
	// A file where the local runtime wants the backend's directory makes every attempt fail.
	blocker := filepath.Join(p.dataDir, "backends", "broken")
	if err := os.MkdirAll(filepath.Dir(blocker), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blocker, []byte("in the way"), 0o600); err != nil {
		t.Fatal(err)
	}
	p.open(ctx, "/new")
	p.run(ctx, "create", fill(`input[name=name]`, "broken"), click(`form button[type=submit]`))
	p.waitText(ctx, ".steps .step-error", "attempt 1 failed")
	p.waitText(ctx, ".outcome", "Failed")
	p.waitText(ctx, ".title-row .badge", "failed")
	p.waitText(ctx, "main", "not a directory")
	p.screenshot(ctx, "backend-failed")

	p.open(ctx, "/backends/broken/data")
	p.waitText(ctx, ".tab-panel", "works once the backend is running")
	p.open(ctx, "/")
	p.waitText(ctx, `tr[data-backend="broken"]`, "failed")
	p.open(ctx, "/backends/broken/data")

	// Retries go on: once the cause is gone the open page turns into the data browser.
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	p.eventuallyWithin(ctx, 45*time.Second, "the backend to run", `document.querySelector('.title-row .badge').textContent === 'running'`)
	p.eventually(ctx, "the data section to open", `!document.querySelector('.tab-panel').textContent.includes('works once the backend is running')`)
}

// TestFailedLoadRecovers: when one of the panel's modules cannot be fetched (a dropped
// connection, a network change) the page reloads once by itself; when that fails too it says so
// with a Reload button instead of staying blank, and the button brings the panel back.
func TestFailedLoadRecovers(t *testing.T) {
	p := startPanel(t)
	ctx := p.browser
	p.signUp(ctx, "ann@example.com")
	block := func(patterns ...string) {
		var list []*network.BlockPattern
		for _, pattern := range patterns {
			list = append(list, &network.BlockPattern{URLPattern: pattern, Block: true})
		}
		if _, err := chromedp.Call(ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: list}); err != nil {
			t.Fatal(err)
		}
	}
	block(p.url + "/assets/views/logs.js")
	p.run(ctx, "open with a module blocked", chromedp.Navigate(p.url+"/"))
	p.waitText(ctx, "main .error", "could not be loaded")
	var reloads int
	p.eval(ctx, `performance.getEntriesByType('navigation')[0].type === 'reload' ? 1 : 0`, &reloads)
	if reloads != 1 {
		t.Errorf("the page did not reload by itself before giving up")
	}
	block()
	p.run(ctx, "reload", click(`main button`))
	p.waitText(ctx, "main h1", "Backends")
}
