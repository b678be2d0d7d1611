package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/tools/names"
	"github.com/chromedp/chromedp"
)

// TestNameRulesMatchTheServer: the rules the panel checks as you type accept and refuse exactly
// the names the server does, so the form never blocks a good name or lets a bad one through.
func TestNameRulesMatchTheServer(t *testing.T) {
	p := startPanel(t)
	ctx := p.browser
	p.open(ctx, "/signin")
	backends := []string{"shop", "ab", "abc", "a-b", "a--b", "ab--c", "xn--shop", "shop-", "shop-be", "shop-bee", "be", "admin", "www",
		"traefik", "api", "apis", "Shop", "1shop", "-shop", "shop_1", "shop.1", "a" + strings.Repeat("b", 31), "a" + strings.Repeat("b", 32),
		"sh op", "shöp", "", "a1", "a12", "z-9", "shop\n", "ѕhop", "shop`", "shop)"}
	collections := []string{"cars", "Cars", "c", "_c", "1c", "c-1", "c_1", "c.1", "c/1", "auth", "AUTH", "files", "ws", "admin", "sdk",
		"openapi", "fn", "FN", "fns", "system.x", "c" + strings.Repeat("x", 63), "c" + strings.Repeat("x", 64), "", "c$", "cär"}
	var got struct{ Backends, Collections []string }
	p.eval(ctx, fmt.Sprintf(`import('/assets/names.js').then((m) => ({
		backends: %s.map((n) => m.backendNameProblem(n)),
		collections: %s.map((n) => m.collectionNameProblem(n)),
	}))`, jsArray(backends), jsArray(collections)), &got)
	for i, n := range backends {
		if server, panel := names.Backend(n) == nil, got.Backends[i] == ""; server != panel {
			t.Errorf("backend name %q: server accepts %v, panel says %q", n, server, got.Backends[i])
		}
	}
	for i, n := range collections {
		if server, panel := names.Collection(n) == nil, got.Collections[i] == ""; server != panel {
			t.Errorf("collection name %q: server accepts %v, panel says %q", n, server, got.Collections[i])
		}
	}
}

func jsArray(xs []string) string {
	var b strings.Builder
	b.WriteString("[")
	for i, x := range xs {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "%q", x)
	}
	b.WriteString("]")
	return b.String()
}

// TestCSRFRejected: a signed-in browser request that changes something without the CSRF token
// (what a forged request from another page would be) is refused and changes nothing; with a
// wrong token too. When the panel's own token is gone, it says so in plain words.
func TestCSRFRejected(t *testing.T) {
	p := startPanel(t)
	ctx := p.browser
	p.signUp(ctx, "ann@example.com")
	var res []map[string]any
	p.eval(ctx, `Promise.all([
		fetch('/api/backends', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({name: 'forged'})}),
		fetch('/api/backends', {method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': 'wrong'}, body: JSON.stringify({name: 'forged'})}),
		fetch('/api/auth/logout', {method: 'POST'}),
	].map((p) => p.then(async (r) => ({status: r.status, body: await r.json()})))).then((x) => x)`, &res)
	for i, r := range res {
		e, _ := r["body"].(map[string]any)["error"].(map[string]any)
		if r["status"] != float64(403) || e["code"] != "csrf_failed" {
			t.Errorf("request %d = %v", i, r)
		}
	}
	var listed struct{ Backends []any }
	p.eval(ctx, `fetch('/api/backends').then((r) => r.json())`, &listed)
	if len(listed.Backends) != 0 {
		t.Fatalf("a forged request created %v", listed.Backends)
	}
	// Still signed in: the forged logout did nothing.
	p.open(ctx, "/new")
	p.waitText(ctx, "main h1", "New backend")

	// The panel without its token: the refusal is said where the developer acted.
	p.eval(ctx, `(document.cookie = 'bkpk_csrf=; Max-Age=0; Path=/', true)`, new(bool))
	p.run(ctx, "create without a token", fill(`input[name=name]`, "shop"), click(`form button[type=submit]`))
	p.waitText(ctx, ".error", "security token")
	// Signing out and in again mends it.
	p.run(ctx, "sign out", click(`.account button`))
	p.waitText(ctx, "main h1", "Sign in")
	p.run(ctx, "sign in", fill(`input[name=email]`, "ann@example.com"), fill(`input[name=password]`, "a long password"), click(`form button[type=submit]`))
	p.waitText(ctx, "main h1", "Backends")
	p.createBackend(ctx, "shop")
}

// TestKeyboardOnly: a developer signs in and creates a backend with the keyboard alone, and
// every form control on these pages has a label.
func TestKeyboardOnly(t *testing.T) {
	p := startPanel(t)
	ctx := p.browser
	for _, path := range []string{"/signin", "/signup"} {
		p.open(ctx, path)
		p.expectLabelled(ctx, path)
	}
	p.signUp(ctx, "ann@example.com")
	p.run(ctx, "sign out", click(`.account button`))
	p.waitText(ctx, "main h1", "Sign in")
	// The email field has focus on arrival; Tab moves to the password; Enter submits.
	p.run(ctx, "sign in by keyboard", chromedp.KeyEvent("ann@example.com\ta long password\r"))
	p.waitText(ctx, "main h1", "Backends")
	p.open(ctx, "/new")
	p.expectLabelled(ctx, "/new")
	p.run(ctx, "create by keyboard", chromedp.KeyEvent("shop\r"))
	p.waitText(ctx, ".outcome", "Running")
	p.expectLabelled(ctx, "/backends/shop")
}

// expectLabelled fails the test for any form control on the page without a label.
func (p *panel) expectLabelled(ctx context.Context, page string) {
	p.t.Helper()
	var unlabelled []string
	p.eval(ctx, `[...document.querySelectorAll('input, select, textarea')].filter((el) =>
		el.type !== 'hidden' && !(el.labels && el.labels.length) && !el.getAttribute('aria-label')).map((el) => el.outerHTML)`, &unlabelled)
	if len(unlabelled) > 0 {
		p.t.Errorf("%s: controls without a label: %v", page, unlabelled)
	}
}

// TestNarrowScreen: at 375 px the main pages fit the width (tables scroll inside their own box).
func TestNarrowScreen(t *testing.T) {
	p := startPanel(t)
	ctx := p.browser
	p.run(ctx, "narrow viewport", chromedp.EmulateViewport(375, 812))
	p.signUp(ctx, "ann@example.com")
	p.createBackend(ctx, "shop-with-a-long-name-1234567")
	for _, page := range []struct{ path, shot string }{
		{"/", "backends-375"}, {"/new", "create-375"}, {"/backends/shop-with-a-long-name-1234567", "backend-overview-375"},
	} {
		p.open(ctx, page.path)
		if page.path == "/" {
			p.waitText(ctx, "table.backends", "shop-with")
		} else if page.path != "/new" {
			p.waitText(ctx, ".outcome", "Running")
		}
		var width int
		p.eval(ctx, `document.documentElement.scrollWidth`, &width)
		if width > 375 {
			t.Errorf("%s is %d px wide at 375 px", page.path, width)
		}
		p.screenshot(ctx, page.shot)
	}
}

// TestOddAddresses: addresses a person can paste or mistype open a page that says so, never a
// blank one, and a crafted "next" cannot send a signed-in developer off the panel.
func TestOddAddresses(t *testing.T) {
	p := startPanel(t)
	ctx := p.browser
	p.signUp(ctx, "ann@example.com")
	for path, says := range map[string]string{
		"/backends/shop/data/a/b":   "Page not found",
		"/backends/%E0%A4":          "Page not found",
		"/backends/a..b/data":       "No such backend",
		"/backends/Shop":            "No such backend",
		"/backends/ghost":           "No such backend",
		"/backends/ghost/nosuchtab": "No such backend",
	} {
		p.open(ctx, path)
		p.waitText(ctx, "main h1", says)
	}
	p.run(ctx, "sign out", click(`.account button`))
	p.waitText(ctx, "main h1", "Sign in")
	for _, next := range []string{`/\evil.example`, "//evil.example/x", "https://evil.example/", "javascript:alert(1)"} {
		p.open(ctx, "/signin?next="+url.QueryEscape(next))
		p.run(ctx, "sign in", fill(`input[name=email]`, "ann@example.com"), fill(`input[name=password]`, "a long password"), click(`form button[type=submit]`))
		p.waitText(ctx, "main h1", "Backends")
		var where string
		p.eval(ctx, `location.origin + location.pathname`, &where)
		if where != p.url+"/" {
			t.Errorf("next=%s led to %s", next, where)
		}
		p.run(ctx, "sign out", click(`.account button`))
		p.waitText(ctx, "main h1", "Sign in")
	}
	// The skip link moves the keyboard to the page's content.
	p.open(ctx, "/signin")
	p.run(ctx, "skip link", chromedp.Focus(chromedp.CSS(".skip")), chromedp.KeyEvent("\r"))
	p.eventually(ctx, "focus on main", `document.activeElement === document.getElementById('main')`)
}

// TestSessionEndsElsewhere: when the session ends behind the page's back, the open backends page
// does not hang on "Reconnecting": its stream is refused and the panel asks to sign in again.
func TestSessionEndsElsewhere(t *testing.T) {
	p := startPanel(t)
	ctx := p.browser
	p.signUp(ctx, "ann@example.com")
	p.waitText(ctx, ".live", "Live")
	// End the session the way another tab's "Sign out" would, without this page knowing.
	var status int
	p.eval(ctx, `fetch('/api/auth/logout', {method: 'POST', headers: {'X-CSRF-Token': document.cookie.match(/bkpk_csrf=([^;]+)/)[1]}}).then((r) => r.status)`, &status)
	if status != http.StatusNoContent {
		t.Fatalf("logout = %d", status)
	}
	// The stream ends at its next keep-alive (15 s in backpack dev).
	p.eventuallyWithin(ctx, 45*time.Second, "the sign-in page", `location.pathname === '/signin' && document.querySelector('main h1').textContent.includes('Sign in')`)
	p.waitText(ctx, "main", "Your session ended")
}
