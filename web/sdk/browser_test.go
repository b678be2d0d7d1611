package sdk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/backpackhq/backpack/coreapi"
	"github.com/backpackhq/backpack/internal/browsertest"
	"github.com/backpackhq/backpack/internal/testenv"
	"github.com/backpackhq/backpack/internal/teststore"
	"github.com/backpackhq/backpack/tools/ephemeral"
	"github.com/chromedp/chromedp"
)

const (
	browserAPIKey     = "browser-test-api-key-0123456789"
	browserAdminToken = "browser-admin-token-0123456789"
)

// page is the test site: it loads the SDK from the backend with a classic <script> tag, as the
// README tells developers to.
const page = `<!doctype html><html><head><meta charset="utf-8"><title>sdk test</title>
<script src="%[1]s/sdk.js"></script></head><body>
<script>window.sdk = createSdk(%[1]q, %[2]q); window.received = [];</script></body></html>`

// browserEnv is a backend API and a site on different origins, driven by headless Chromium.
type browserEnv struct {
	t       *testing.T
	api     *coreapi.Server
	apiURL  string
	siteURL string
	ctx     context.Context
	console *browsertest.Console
}

// newBrowserEnv serves the API at http://API_HOST:P1 and the site at http://shop.localhost:P2.
// Chromium resolves every *.localhost name to the loopback address.
func newBrowserEnv(t *testing.T, apiHost string) *browserEnv {
	t.Helper()
	allocCtx := browsertest.NewAllocator(t)
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	siteLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	apiURL := fmt.Sprintf("http://%s:%d", apiHost, apiLn.Addr().(*net.TCPAddr).Port)
	siteURL := fmt.Sprintf("http://shop.localhost:%d", siteLn.Addr().(*net.TCPAddr).Port)

	eph, err := ephemeral.NewRedis(context.Background(), testenv.Redis(t), "browser:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eph.Close() })
	api, err := coreapi.New(context.Background(), coreapi.Config{
		APIKey: browserAPIKey, AdminToken: browserAdminToken, FilesDir: t.TempDir(), SiteDir: t.TempDir(),
		CORSOrigins: []string{siteURL}, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}, teststore.New(t), eph)
	if err != nil {
		t.Fatal(err)
	}
	apiSrv := &httptest.Server{Listener: apiLn, Config: &http.Server{Handler: api.Handler()}}
	apiSrv.Start()
	t.Cleanup(func() { apiSrv.Close(); api.Close() })
	html := fmt.Sprintf(page, apiURL, browserAPIKey)
	siteSrv := &httptest.Server{Listener: siteLn, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, html)
	})}}
	siteSrv.Start()
	t.Cleanup(siteSrv.Close)

	env := &browserEnv{t: t, api: api, apiURL: apiURL, siteURL: siteURL, console: &browsertest.Console{}}
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	env.ctx = env.listen(ctx, "page1")
	if _, err := chromedp.Run(env.ctx, chromedp.Navigate(siteURL)); err != nil {
		t.Fatalf("open the site: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("browser console:\n%s", env.console)
		}
	})
	return env
}

// listen records a tab's console output and uncaught exceptions.
func (e *browserEnv) listen(ctx context.Context, name string) context.Context {
	if err := e.console.Listen(ctx, name); err != nil {
		e.t.Fatalf("listen to %s: %v", name, err)
	}
	return ctx
}

// newTab opens another tab of the same browser on the site.
func (e *browserEnv) newTab(name string) context.Context {
	e.t.Helper()
	ctx, cancel := chromedp.NewContext(e.ctx)
	e.t.Cleanup(cancel)
	ctx = e.listen(ctx, name)
	if _, err := chromedp.Run(ctx, chromedp.Navigate(e.siteURL)); err != nil {
		e.t.Fatalf("open %s: %v", name, err)
	}
	return ctx
}

// run evaluates an async function body in the tab and decodes what it returns. A thrown
// BackpackError comes back as {error: {name, status, code, message}}.
func (e *browserEnv) run(ctx context.Context, body string) map[string]any {
	e.t.Helper()
	var out map[string]any
	if err := browsertest.Async(ctx, body, &out); err != nil {
		e.t.Fatalf("%v\n%s", err, body)
	}
	return out
}

// ok runs body and fails the test if it threw.
func (e *browserEnv) ok(ctx context.Context, body string) map[string]any {
	e.t.Helper()
	out := e.run(ctx, body)
	if out["error"] != nil {
		e.t.Fatalf("%v\nwhile running:%s", out["error"], body)
	}
	return out
}

func TestSDKInBrowserCookieMode(t *testing.T) {
	// Same site, different origin: the production layout (NAME.DOMAIN and NAME-be.DOMAIN).
	env := newBrowserEnv(t, "shop.localhost")
	exerciseSDK(t, env, "cookie")
}

func TestSDKInBrowserTokenMode(t *testing.T) {
	// Different sites: the local layout (NAME.localhost and NAME-be.localhost).
	env := newBrowserEnv(t, "shop-be.localhost")
	exerciseSDK(t, env, "token")
}

func exerciseSDK(t *testing.T, env *browserEnv, wantMode string) {
	ctx := env.ctx
	if got := env.ok(ctx, `return { mode: sdk.auth.mode }`); got["mode"] != wantMode {
		t.Fatalf("auth mode = %v, want %s", got["mode"], wantMode)
	}
	env.ok(ctx, `await sdk.auth.register('ann@example.com', 'password123'); return {}`)
	if got := env.run(ctx, `await sdk.auth.register('ann@example.com', 'password123'); return {}`); got["error"].(map[string]any)["code"] != "email_taken" {
		t.Fatalf("second register = %v", got)
	}
	if got := env.run(ctx, `await sdk.auth.login('ann@example.com', 'wrong-password'); return {}`); got["error"].(map[string]any)["status"] != float64(401) {
		t.Fatalf("wrong password = %v", got)
	}
	me := env.ok(ctx, `return await sdk.auth.login('ann@example.com', 'password123')`)
	uid, _ := me["_id"].(string)
	if me["email"] != "ann@example.com" || len(uid) != 24 {
		t.Fatalf("login = %v", me)
	}
	if wantMode == "cookie" {
		if got := env.ok(ctx, `return { cookie: document.cookie }`); strings.Contains(got["cookie"].(string), "bkpk_session") {
			t.Fatal("the session cookie is readable by scripts")
		}
	}

	// A reload keeps the user signed in.
	if _, err := chromedp.Run(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	if got := env.ok(ctx, `return await sdk.auth.me()`); got["email"] != "ann@example.com" {
		t.Fatalf("me after reload = %v", got)
	}

	// Collections and documents.
	got := env.ok(ctx, `
		await sdk.db.createNewCollection('notes');
		const a = await sdk.db.createResource('notes', { text: 'first', n: 1 });
		await sdk.db.createResource('notes', { text: 'second', n: 2 });
		const filtered = await sdk.db.getCollection('notes', { filter: { n: { $gt: 1 } }, sort: '-n' });
		const one = await sdk.db.getResource('notes', a._id);
		const patched = await sdk.db.updateResource('notes', a._id, { color: 'red' });
		const replaced = await sdk.db.overwriteResource('notes', a._id, { text: 'only' });
		const deleted = await sdk.db.deleteResource('notes', a._id);
		let missing; try { await sdk.db.getResource('notes', a._id); } catch (e) { missing = e.code; }
		let unknown; try { await sdk.db.getCollection('boats'); } catch (e) { unknown = e instanceof BackpackError && e.code; }
		return { filtered: filtered.map(d => d.text), one: one.text, patched: [patched.text, patched.color],
			replaced: [replaced.text, replaced.color ?? null], deleted: deleted.text, missing, unknown };`)
	want := `{"deleted":"only","filtered":["second"],"missing":"document_not_found","one":"first","patched":["first","red"],"replaced":["only",null],"unknown":"collection_not_found"}`
	if b, _ := json.Marshal(got); string(b) != want {
		t.Fatalf("documents: %s\nwant %s", b, want)
	}

	// Files, with upload progress and an abortable request.
	got = env.ok(ctx, `
		const progress = [];
		const file = new File(['hello browser'], 'hello.txt', { type: 'text/plain' });
		const meta = await sdk.storage.uploadFile(file, 'greeting.txt', 'notes', { onProgress: p => progress.push(p.loaded) });
		const list = await sdk.storage.getListOfUserFiles(meta.owner);
		const blob = await sdk.storage.getFile(meta.owner, 'greeting.txt');
		await sdk.storage.updateFile('greeting.txt', 'renamed.txt');
		await sdk.storage.overwriteFile(new Blob(['new content']), 'renamed.txt');
		const text = await (await sdk.storage.getFile(meta.owner, 'renamed.txt')).text();
		const removed = await sdk.storage.deleteFile('renamed.txt');
		const ctl = new AbortController(); ctl.abort();
		let aborted; try { await sdk.db.getCollection('notes', {}, { signal: ctl.signal }); } catch (e) { aborted = e.code; }
		return { size: meta.size, names: list.map(f => f.filename), type: blob.type, body: await blob.text(), text,
			removed: removed.filename, progressed: progress.length > 0, aborted };`)
	want = `{"aborted":"aborted","body":"hello browser","names":["greeting.txt"],"progressed":true,"removed":"renamed.txt","size":13,"text":"new content","type":"text/plain"}`
	if b, _ := json.Marshal(got); string(b) != want {
		t.Fatalf("files: %s\nwant %s", b, want)
	}

	// Two pages on websockets: a write in one is seen in the other; channels scope messages.
	for _, name := range []string{"userInfo", "rooms", "messages"} {
		env.ok(ctx, `await sdk.db.createNewCollection('`+name+`'); return {}`)
	}
	tab2 := env.newTab("page2")
	env.ok(tab2, `
		window.conn = sdk.ws();
		conn.on('create', m => received.push(m));
		if (conn.status !== 'open') await new Promise(r => { const off = conn.on('status', s => { if (s === 'open') { off(); r(); } }); });
		return {}`)
	env.ok(ctx, `window.conn = sdk.ws(); await conn.actions.createResource('notes', { text: 'live' }); return {}`)
	waitInPage(t, env, tab2, `received.some(m => m.collection === 'notes' && m.response.text === 'live')`)

	room := env.ok(ctx, `return await conn.actions.createChannel('userInfo', 'rooms', 'general')`)
	roomID := room["_id"].(string)
	env.ok(tab2, `await conn.actions.joinChannel('userInfo', 'rooms', '`+roomID+`'); return {}`)
	env.ok(ctx, `await sdk.db.createResource('messages', { text: 'in room', channelType: 'rooms', channelId: '`+roomID+`' }); return {}`)
	waitInPage(t, env, tab2, `received.some(m => m.collection === 'messages' && m.response.text === 'in room')`)
	got = env.ok(tab2, `return { channels: (await conn.actions.joinUsersChannels('userInfo')).map(c => c.name) }`)
	if b, _ := json.Marshal(got); string(b) != `{"channels":["general"]}` {
		t.Fatalf("channels = %s", b)
	}
	got = env.ok(tab2, `const latest = await conn.actions.findResource('notes', {}, { sort: '-_createdAt', limit: 1 });
		return { n: latest.length, text: latest[0].text }`)
	if got["n"] != float64(1) || got["text"] != "live" {
		t.Fatalf("findResource with sort and limit = %v", got)
	}
	got = env.ok(tab2, `let code; try { await conn.actions.getCollection('boats'); } catch (e) { code = e.code; } return { code }`)
	if got["code"] != "collection_not_found" {
		t.Fatalf("websocket error = %v", got)
	}

	// Logout ends the session for every page.
	env.ok(ctx, `await sdk.auth.logout(); return {}`)
	if got := env.run(ctx, `return await sdk.auth.me()`); got["error"].(map[string]any)["code"] != "not_signed_in" {
		t.Fatalf("me after logout = %v", got)
	}
	if got := env.run(tab2, `return await sdk.auth.me()`); got["error"] == nil {
		t.Fatalf("the other page is still signed in: %v", got)
	}
}

// waitInPage polls a condition in the page for up to five seconds.
func waitInPage(t *testing.T, env *browserEnv, ctx context.Context, cond string) {
	t.Helper()
	got := env.run(ctx, `const end = Date.now() + 5000;
		while (Date.now() < end) { if (`+cond+`) return { ok: true }; await new Promise(r => setTimeout(r, 50)); }
		return { ok: false, received }`)
	if got["ok"] != true {
		t.Fatalf("not seen in the page within 5s: %s\nreceived: %v", cond, got["received"])
	}
}
