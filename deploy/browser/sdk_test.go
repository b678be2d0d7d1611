package browser_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/browsertest"
	"github.com/chromedp/cdproto/network"
)

// testSDK: the backend's site (https://NAME.DOMAIN) loads the SDK from its API
// (https://NAME-be.DOMAIN, the same site) and signs in by cookie, the production default: the
// session is the HttpOnly, Secure __Host-bkpk_session cookie and nothing is kept in the page's
// storage. Documents, a realtime broadcast of another user's write over wss://, a file up and
// down, and logout, all through Traefik over HTTP/2.
func testSDK(t *testing.T, e *env) {
	ctx, r := e.tab(t)
	api, site := e.p.APIURL(e.name), e.p.SiteURL(e.name)
	took, nav := open(t, ctx, site+"/", `typeof window.sdk === 'object'`)
	t.Logf("%s with the SDK from %s: ready in %s (%s)", site, api, took.Round(time.Millisecond), nav)
	r.requireH2(t, site+"/")
	r.requireH2(t, api+"/sdk.js")

	if got := run(t, ctx, `return { mode: sdk.auth.mode }`); got["mode"] != "cookie" {
		t.Fatalf("auth mode = %v, want cookie (the site and its API are the same site)", got["mode"])
	}
	run(t, ctx, `await sdk.auth.register('ann@example.com', 'password123'); return {}`)
	me := run(t, ctx, `return await sdk.auth.login('ann@example.com', 'password123')`)
	if me["email"] != "ann@example.com" {
		t.Fatalf("login = %v", me)
	}
	r.requireH2(t, api+"/auth/login")
	host := e.name + "-be." + e.p.Domain
	requireHostCookie(t, ctx, api, host, "__Host-bkpk_session", true, network.CookieSameSiteLax)
	if c := cookie(t, ctx, api, "bkpk_session"); c != nil {
		t.Errorf("a session cookie without the __Host- prefix was set over https: %+v", c)
	}
	if got := run(t, ctx, `return { cookies: document.cookie, stored: localStorage.length + sessionStorage.length }`); got["stored"] != float64(0) || strings.Contains(got["cookies"].(string), "bkpk") {
		t.Fatalf("after login the page holds %v: the session must live only in the HttpOnly cookie", got)
	}
	if got := run(t, ctx, `return await sdk.auth.me()`); got["email"] != "ann@example.com" {
		t.Fatalf("me = %v", got)
	}

	got := run(t, ctx, `
		await sdk.db.createNewCollection('notes');
		const a = await sdk.db.createResource('notes', { title: 'first', n: 1 });
		await sdk.db.createResource('notes', { title: 'second', n: 2 });
		const list = await sdk.db.getCollection('notes', { sort: 'n' });
		const patched = await sdk.db.updateResource('notes', a._id, { done: true });
		return { titles: list.map(d => d.title), done: patched.done };`)
	if b, _ := json.Marshal(got); string(b) != `{"done":true,"titles":["first","second"]}` {
		t.Fatalf("documents: %s", b)
	}

	// Realtime: another user (a Go client through Traefik) writes; the page hears it.
	run(t, ctx, `window.conn = sdk.ws(); conn.on('*', m => received.push(m));
		if (conn.status !== 'open') await new Promise(r => { const off = conn.on('status', s => { if (s === 'open') { off(); r(); } }); });
		return {}`)
	bob := e.p.EndUser(e.name, e.key)
	bob.MustStatus(http.StatusCreated, bob.Send(http.MethodPost, "/auth/register", map[string]any{"email": "bob@example.com", "password": "password456"}))
	bob.Login("bob@example.com", "password456")
	start := time.Now()
	bob.MustStatus(http.StatusCreated, bob.Send(http.MethodPost, "/notes", map[string]any{"title": "from bob"}))
	cond := `received.some(m => m.action === 'create' && m.collection === 'notes' && m.response.title === 'from bob')`
	if err := browsertest.WaitFor(ctx, 15*time.Second, cond); err != nil {
		t.Fatalf("the broadcast of another user's write did not reach the page: %v; the websocket is %v, the SDK gave %v; websockets:\n%s",
			err, run(t, ctx, `return { status: conn.status }`)["status"], run(t, ctx, `return { received }`)["received"], r.websocketLog())
	}
	seen := time.Since(start)
	t.Logf("another user's write reached the page over wss:// %s after it was sent", seen.Round(time.Millisecond))

	got = run(t, ctx, `
		const file = new File(['hello over https'], 'hello.txt', { type: 'text/plain' });
		const meta = await sdk.storage.uploadFile(file, 'hello.txt', 'notes');
		const body = await (await sdk.storage.getFile(meta.owner, 'hello.txt')).text();
		const removed = await sdk.storage.deleteFile('hello.txt');
		return { size: meta.size, body, removed: removed.filename };`)
	if b, _ := json.Marshal(got); string(b) != `{"body":"hello over https","removed":"hello.txt","size":16}` {
		t.Fatalf("files: %s", b)
	}

	run(t, ctx, `conn.close(); await sdk.auth.logout(); return {}`)
	if got := run(t, ctx, `try { await sdk.auth.me(); return { signedIn: true }; } catch (e) { return { code: e.code }; }`); got["code"] != "not_signed_in" {
		t.Fatalf("me after logout = %v", got)
	}
	if c := cookie(t, ctx, api, "__Host-bkpk_session"); c != nil {
		t.Errorf("the session cookie outlived logout: %+v", c)
	}
	if got := run(t, ctx, `return { stored: localStorage.length + sessionStorage.length }`); got["stored"] != float64(0) {
		t.Errorf("the page's storage holds %v items", got["stored"])
	}
}

// run runs an async function body in the page and fails the test if it threw.
func run(t *testing.T, ctx context.Context, body string) map[string]any {
	t.Helper()
	var out map[string]any
	if err := browsertest.Async(ctx, body, &out); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	if out["error"] != nil {
		t.Fatalf("%v\nwhile running:%s", out["error"], body)
	}
	return out
}
