package coreapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// deploy puts a function and fails the test unless it is accepted.
func (c *adminClient) deploy(name, source string, extra map[string]any) map[string]any {
	c.api.t.Helper()
	body := map[string]any{"source": source}
	for k, v := range extra {
		body[k] = v
	}
	var out map[string]any
	c.mustStatus(http.StatusOK, c.put("/admin/functions/"+name, body)).decode(&out)
	return out
}

func TestFunctionRequest(t *testing.T) {
	api := newTestAPI(t)
	admin := api.adminClient()
	out := admin.deploy("hello", `
function onRequest(req, ctx) {
  return { status: 201, headers: {"X-Hello": "yes"}, body: {
    method: req.method, path: req.path, q: req.query.q, body: req.body,
    user: ctx.user ? ctx.user.email : null, greeting: ctx.env.GREETING } };
}`, map[string]any{"env": map[string]string{"GREETING": "hi"}})
	if out["version"].(float64) != 1 || out["handlers"].([]any)[0] != "onRequest" {
		t.Fatalf("deploy answered %v", out)
	}

	anon := api.client()
	r := anon.mustStatus(http.StatusCreated, anon.post("/fn/hello/a/b?q=1", map[string]int{"n": 2}))
	var got struct {
		Method, Path, Q, Greeting string
		Body                      map[string]int
		User                      *string
	}
	r.decode(&got)
	if got.Method != "POST" || got.Path != "/a/b" || got.Q != "1" || got.Body["n"] != 2 || got.User != nil || got.Greeting != "hi" {
		t.Fatalf("function saw %+v", got)
	}
	if r.header.Get("X-Hello") != "yes" {
		t.Fatalf("headers %v", r.header)
	}

	user, _ := api.signedIn()
	user.mustStatus(http.StatusCreated, user.get("/fn/hello")).decode(&got)
	if got.User == nil || !strings.HasPrefix(*got.User, "user") || got.Method != "GET" {
		t.Fatalf("signed-in call saw %+v", got)
	}

	noKey := api.client()
	noKey.apiKey = ""
	if r := noKey.get("/fn/hello"); r.status != http.StatusUnauthorized {
		t.Fatalf("without the API key: %d %s", r.status, r.body)
	}
	anon.expectError(anon.get("/fn/nope"), http.StatusNotFound, "function_not_found")
}

func TestFunctionAnswersAndErrors(t *testing.T) {
	api := newTestAPI(t)
	admin := api.adminClient()
	admin.deploy("plain", `function onRequest() { return [1, "two"]; }`, nil)
	admin.deploy("nothing", `async function onRequest() { await null; }`, nil)
	admin.deploy("text", `function onRequest() { return {headers: {"content-type": "text/plain"}, body: "hi"}; }`, nil)
	admin.deploy("teapot", `function onRequest(req, ctx) { throw new ctx.HttpError(418, "teapot", "I am a teapot"); }`, nil)
	admin.deploy("boom", `function onRequest() { null.x; }`, nil)
	admin.deploy("badheader", `function onRequest() { return {status: 200, headers: {"Content-Length": "1"}}; }`, nil)
	admin.deploy("hooksonly", `function beforeCreate(doc) { return doc; }`, map[string]any{"collections": []string{"cars"}})
	c := api.client()
	if r := c.mustStatus(http.StatusOK, c.get("/fn/plain")); strings.TrimSpace(string(r.body)) != `[1,"two"]` {
		t.Fatalf("plain: %s", r.body)
	}
	if r := c.get("/fn/nothing"); r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != "null" {
		t.Fatalf("nothing: %d %q", r.status, r.body)
	}
	if r := c.mustStatus(http.StatusOK, c.get("/fn/text")); string(r.body) != "hi" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("text: %q %v", r.body, r.header)
	}
	c.expectError(c.get("/fn/teapot"), 418, "teapot")
	r := c.get("/fn/boom")
	c.expectError(r, http.StatusInternalServerError, "function_error")
	if strings.Contains(string(r.body), "TypeError") || strings.Contains(string(r.body), "at ") {
		t.Fatalf("the answer shows the error: %s", r.body)
	}
	c.expectError(c.get("/fn/badheader"), http.StatusInternalServerError, "function_error")
	c.expectError(c.get("/fn/hooksonly"), http.StatusNotFound, "function_not_found")
	c.expectError(c.raw(http.MethodPost, "/fn/plain", strings.NewReader("{"), "application/json"), http.StatusBadRequest, "invalid_json")

	waitFor(t, func() bool {
		var logs struct {
			Items []struct{ Level, Message string }
		}
		admin.mustStatus(http.StatusOK, admin.get("/admin/functions/boom/logs")).decode(&logs)
		return len(logs.Items) == 1 && logs.Items[0].Level == "error" && strings.Contains(logs.Items[0].Message, "TypeError")
	})
}

func TestFunctionDeployRefusals(t *testing.T) {
	api := newTestAPI(t)
	admin := api.adminClient()
	admin.deploy("f", `function onRequest() { return 1; }`, nil)

	r := admin.put("/admin/functions/f", map[string]any{"source": "function onRequest() {\n  return 2;\n  }}\n"})
	admin.expectError(r, http.StatusBadRequest, "syntax_error")
	var e struct {
		Error struct {
			Details struct{ Line, Column int }
		}
	}
	r.decode(&e)
	if e.Error.Details.Line != 3 || e.Error.Details.Column == 0 {
		t.Fatalf("syntax error at %+v: %s", e.Error.Details, r.body)
	}
	admin.expectError(admin.put("/admin/functions/f", map[string]any{"source": "throw new Error('top')"}), http.StatusBadRequest, "function_load_failed")
	admin.expectError(admin.put("/admin/functions/f", map[string]any{"source": "while (true) {}", "timeoutMs": 200}), http.StatusBadRequest, "function_load_failed")
	c := api.client()
	if r := c.mustStatus(http.StatusOK, c.get("/fn/f")); strings.TrimSpace(string(r.body)) != "1" {
		t.Fatalf("after refused deploys the function answers %s", r.body)
	}
	var fn struct{ Version int }
	admin.mustStatus(http.StatusOK, admin.get("/admin/functions/f")).decode(&fn)
	if fn.Version != 1 {
		t.Fatalf("version %d after refused deploys", fn.Version)
	}

	for _, bad := range []struct {
		name string
		body any
		code string
	}{
		{"1bad", map[string]any{"source": "x"}, "invalid_name"},
		{"auth", map[string]any{"source": "x"}, "invalid_name"},
		{"ok", map[string]any{}, "invalid_request"},
		{"ok", map[string]any{"source": "x", "timeoutMs": 1}, "invalid_request"},
		{"ok", map[string]any{"source": "x", "timeoutMs": 600000}, "invalid_request"},
		{"ok", map[string]any{"source": "x", "collections": []string{"$bad"}}, "invalid_name"},
		{"ok", map[string]any{"source": "x", "env": map[string]string{"$where": "1"}}, "invalid_env"},
		{"ok", map[string]any{"source": "x", "env": map[string]string{"a.b": "1"}}, "invalid_env"},
		{"ok", map[string]any{"source": "x", "env": map[string]string{"": "1"}}, "invalid_env"},
		{"ok", map[string]any{"source": "x", "surprise": 1}, "invalid_json"},
	} {
		r := admin.put("/admin/functions/"+bad.name, bad.body)
		if r.status != http.StatusBadRequest || r.errorCode() != bad.code {
			t.Errorf("PUT %s %v: %d %s, want 400 %s", bad.name, bad.body, r.status, r.body, bad.code)
		}
	}
	admin.expectError(admin.put("/admin/functions/big", map[string]any{"source": strings.Repeat("x", 600<<10)}), http.StatusRequestEntityTooLarge, "function_too_large")
}

func TestFunctionIsolation(t *testing.T) {
	api := newTestAPI(t)
	admin := api.adminClient()
	admin.deploy("spin", `function onRequest() { while (true) {} }`, map[string]any{"timeoutMs": 300})
	admin.deploy("hog", `function onRequest() { const a = []; while (true) a.push(new Array(100000).fill(1)); }`, map[string]any{"timeoutMs": 20000})
	admin.deploy("deep", `function f(n) { return f(n + 1) + 1; } function onRequest() { return f(0); }`, nil)
	admin.deploy("ok", `let calls = 0; function onRequest() { return ++calls > 0; }`, nil)
	c := api.client()

	var wg sync.WaitGroup
	failures := make(chan string, 100)
	stop := make(chan struct{})
	finish := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer finish()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if r := c.raw(http.MethodGet, "/collections", nil, ""); r.status != http.StatusOK && r.status != http.StatusUnauthorized {
				failures <- string(r.body)
			}
			if r := c.get("/fn/ok"); r.status != http.StatusOK {
				failures <- string(r.body)
			}
		}
	}()
	c.expectError(c.get("/fn/spin"), http.StatusGatewayTimeout, "function_timeout")
	c.expectError(c.get("/fn/hog"), http.StatusInternalServerError, "function_out_of_memory")
	c.expectError(c.get("/fn/deep"), http.StatusInternalServerError, "function_error")
	c.expectError(c.get("/fn/spin"), http.StatusGatewayTimeout, "function_timeout")
	finish()
	close(failures)
	for f := range failures {
		t.Errorf("a request failed while functions ran away: %s", f)
	}
	c.mustStatus(http.StatusOK, c.get("/fn/ok"))
	c.mustStatus(http.StatusOK, c.get("/healthz"))
}

func TestFunctionHooks(t *testing.T) {
	api := newTestAPI(t)
	admin := api.adminClient()
	admin.mustStatus(http.StatusCreated, admin.post("/admin/collections", map[string]string{"name": "posts"}))
	admin.mustStatus(http.StatusCreated, admin.post("/admin/collections", map[string]string{"name": "audit"}))
	admin.deploy("a-validate", `
function beforeCreate(doc, ctx) {
  if (!doc.title) throw new ctx.HttpError(422, "title_required", "a title is required");
  doc.slug = doc.title.toLowerCase().replace(/ /g, "-");
  doc.order = ["a"];
  return doc;
}
function beforeUpdate(doc, old, ctx) {
  if (doc.locked) throw new ctx.HttpError(409, "locked", "this post is locked");
  doc.edits = (old.edits || 0) + 1;
  return doc;
}
function beforeDelete(old, ctx) {
  if (old.keep) throw new ctx.HttpError(403, "kept", "this post is kept");
}`, map[string]any{"collections": []string{"posts"}})
	admin.deploy("b-order", `
function beforeCreate(doc) { doc.order.push("b"); return doc; }
function afterCreate(doc, ctx) { ctx.admin.db.create("audit", {post: doc._id, by: ctx.user ? ctx.user.id : null}); }
function afterDelete(old, ctx) { ctx.admin.db.create("audit", {deleted: old._id}); throw new Error("after hooks cannot fail the write"); }`,
		map[string]any{"collections": []string{"posts"}})

	user, uid := api.signedIn()
	user.expectError(user.post("/posts", map[string]any{"body": "x"}), 422, "title_required")
	var post struct {
		ID    string `json:"_id"`
		Slug  string
		Order []string
		Edits int
		Owner string `json:"_owner"`
	}
	user.mustStatus(http.StatusCreated, user.post("/posts", map[string]any{"title": "Hello World"})).decode(&post)
	if post.Slug != "hello-world" || strings.Join(post.Order, ",") != "a,b" || post.Owner != uid {
		t.Fatalf("created %+v", post)
	}
	var audit []map[string]any
	admin.mustStatus(http.StatusOK, admin.get("/admin/collections/audit/docs")).decode(&audit)
	if len(audit) != 1 || audit[0]["post"] != post.ID || audit[0]["by"] != uid {
		t.Fatalf("afterCreate wrote %v", audit)
	}

	// A patch reaches beforeUpdate as the whole document; a replace too; the admin port and
	// the websocket run the same hooks.
	user.mustStatus(http.StatusOK, user.patch("/posts/"+post.ID, map[string]any{"extra": 1})).decode(&post)
	if post.Edits != 1 || post.Slug != "hello-world" {
		t.Fatalf("patched %+v", post)
	}
	admin.mustStatus(http.StatusOK, admin.patch("/admin/collections/posts/docs/"+post.ID, map[string]any{"extra": 2})).decode(&post)
	if post.Edits != 2 {
		t.Fatalf("admin patch %+v", post)
	}
	user.expectError(user.patch("/posts/"+post.ID, map[string]any{"locked": true}), 409, "locked")
	user.dialWS().fails("create", map[string]any{"collection": "posts", "data": map[string]any{"body": "no title"}}, "title_required")

	user.mustStatus(http.StatusCreated, user.post("/posts", map[string]any{"title": "Keep", "keep": true})).decode(&post)
	user.expectError(user.del("/posts/"+post.ID), 403, "kept")
	user.mustStatus(http.StatusOK, user.get("/posts/"+post.ID))
	user.mustStatus(http.StatusCreated, user.post("/posts", map[string]any{"title": "Go"})).decode(&post)
	user.mustStatus(http.StatusOK, user.del("/posts/"+post.ID))
	admin.mustStatus(http.StatusOK, admin.get(`/admin/collections/audit/docs?filter={"deleted":"`+post.ID+`"}`)).decode(&audit)
	if len(audit) != 1 {
		t.Fatalf("afterDelete wrote %v", audit)
	}
	waitFor(t, func() bool {
		var logs struct{ Items []struct{ Message string } }
		admin.mustStatus(http.StatusOK, admin.get("/admin/functions/b-order/logs")).decode(&logs)
		return len(logs.Items) > 0 && strings.Contains(logs.Items[len(logs.Items)-1].Message, "after hooks cannot fail the write")
	})
}

func TestFunctionHookRecursionStops(t *testing.T) {
	api := newTestAPI(t)
	admin := api.adminClient()
	admin.mustStatus(http.StatusCreated, admin.post("/admin/collections", map[string]string{"name": "loops"}))
	admin.deploy("loop", `function beforeCreate(doc, ctx) { ctx.admin.db.create("loops", {n: (doc.n || 0) + 1}); return doc; }`,
		map[string]any{"collections": []string{"loops"}})
	user, _ := api.signedIn()
	user.expectError(user.post("/loops", map[string]any{"n": 0}), 508, "function_recursion")
	var docs []map[string]any
	admin.mustStatus(http.StatusOK, admin.get("/admin/collections/loops/docs")).decode(&docs)
	if len(docs) != 0 {
		t.Fatalf("a refused recursion left %d documents", len(docs))
	}
}

func TestFunctionDBUnderRules(t *testing.T) {
	api := newTestAPI(t)
	admin := api.adminClient()
	admin.mustStatus(http.StatusCreated, admin.post("/admin/collections", map[string]string{"name": "notes"}))
	admin.mustStatus(http.StatusOK, admin.patch("/admin/collections/notes", map[string]string{"rule": "owner"}))
	admin.deploy("notes", `
async function onRequest(req, ctx) {
  if (req.method === "POST") return await ctx.db.create("notes", req.body);
  if (req.query.all) return ctx.admin.db.find("notes", {}, {sort: "-_createdAt"}).length;
  if (req.query.id) return ctx.db.get("notes", req.query.id);
  try { return ctx.db.find("notes", {text: {$exists: true}}, {limit: 10}); }
  catch (e) { return {status: e.status, body: {caught: e.code}}; }
}`, nil)
	alice, _ := api.signedIn()
	bob, _ := api.signedIn()
	var note struct {
		ID string `json:"_id"`
	}
	alice.mustStatus(http.StatusOK, alice.post("/fn/notes", map[string]string{"text": "alice's"})).decode(&note)
	bob.mustStatus(http.StatusOK, bob.post("/fn/notes", map[string]string{"text": "bob's"}))
	var mine []map[string]any
	alice.mustStatus(http.StatusOK, alice.get("/fn/notes")).decode(&mine)
	if len(mine) != 1 || mine[0]["text"] != "alice's" {
		t.Fatalf("alice's find: %v", mine)
	}
	bob.expectError(bob.get("/fn/notes?id="+note.ID), http.StatusNotFound, "document_not_found")
	if r := bob.mustStatus(http.StatusOK, bob.get("/fn/notes?all=1")); strings.TrimSpace(string(r.body)) != "2" {
		t.Fatalf("admin.db sees %s", r.body)
	}
	anon := api.client()
	var caught struct{ Caught string }
	anon.mustStatus(http.StatusUnauthorized, anon.get("/fn/notes")).decode(&caught)
	if caught.Caught != "not_signed_in" {
		t.Fatalf("an anonymous find threw %+v", caught)
	}
}

func TestFunctionAdminAPI(t *testing.T) {
	api := newTestAPI(t)
	admin := api.adminClient()
	admin.deploy("b", `function onRequest(req, ctx) { console.log("got", req.body, 42); ctx.log("user", ctx.user); return {echo: req.body, m: req.method, p: req.path}; }`, map[string]any{"env": map[string]string{"K": "v"}})
	admin.deploy("a", `function afterCreate() {}`, map[string]any{"collections": []string{"x", "a"}})
	var list struct {
		Items []struct {
			Name        string
			Version     int
			Collections []string
			Handlers    []string
			Source      *string
		}
	}
	admin.mustStatus(http.StatusOK, admin.get("/admin/functions")).decode(&list)
	if len(list.Items) != 2 || list.Items[0].Name != "a" || strings.Join(list.Items[0].Collections, ",") != "a,x" || list.Items[1].Source != nil {
		t.Fatalf("list %+v", list)
	}
	var fn struct {
		Source string
		Env    map[string]string
	}
	admin.mustStatus(http.StatusOK, admin.get("/admin/functions/b")).decode(&fn)
	if !strings.Contains(fn.Source, "console.log") || fn.Env["K"] != "v" {
		t.Fatalf("get %+v", fn)
	}
	var inv struct {
		Status int
		Body   struct {
			Echo map[string]int
			M, P string
		}
		DurationMs *int
	}
	admin.mustStatus(http.StatusOK, admin.post("/admin/functions/b/invoke", map[string]any{"body": map[string]int{"x": 1}, "path": "sub"})).decode(&inv)
	if inv.Status != 200 || inv.Body.Echo["x"] != 1 || inv.Body.M != "POST" || inv.Body.P != "/sub" || inv.DurationMs == nil {
		t.Fatalf("invoke %+v", inv)
	}
	admin.expectError(admin.post("/admin/functions/nope/invoke", map[string]any{}), http.StatusNotFound, "function_not_found")
	var logs struct {
		Items []struct{ ID, Level, Message string }
	}
	waitFor(t, func() bool {
		admin.mustStatus(http.StatusOK, admin.get("/admin/functions/b/logs")).decode(&logs)
		return len(logs.Items) == 2
	})
	if logs.Items[0].Message != `got {"x":1} 42` || logs.Items[1].Message != "user null" {
		t.Fatalf("logs %+v", logs.Items)
	}
	admin.mustStatus(http.StatusOK, admin.get("/admin/functions/b/logs?after="+logs.Items[0].ID)).decode(&logs)
	if len(logs.Items) != 1 || logs.Items[0].Message != "user null" {
		t.Fatalf("logs after the first %+v", logs.Items)
	}
	admin.expectError(admin.get("/admin/functions/b/logs?tail=0"), http.StatusBadRequest, "invalid_query")
	admin.expectError(admin.get("/admin/functions/b/logs?after=x"), http.StatusBadRequest, "invalid_query")
	admin.expectError(admin.get("/admin/functions/nope/logs"), http.StatusNotFound, "function_not_found")

	metrics := string(admin.mustStatus(http.StatusOK, admin.get("/metrics")).body)
	if !strings.Contains(metrics, `backpack_api_function_invocations_total{function="b",outcome="ok"} 1`) ||
		!strings.Contains(metrics, `backpack_api_function_duration_seconds_count{function="b"} 1`) {
		t.Fatalf("metrics lack the invocation:\n%s", metrics)
	}

	admin.mustStatus(http.StatusNoContent, admin.del("/admin/functions/b"))
	admin.expectError(admin.del("/admin/functions/b"), http.StatusNotFound, "function_not_found")
	c := api.client()
	c.expectError(c.get("/fn/b"), http.StatusNotFound, "function_not_found")

	// A line logged just before a delete, still buffered, never reaches a new function of the
	// same name.
	admin.deploy("c", `function onRequest() { console.log("old c"); return 1; }`, nil)
	c.mustStatus(http.StatusOK, c.get("/fn/c"))
	admin.mustStatus(http.StatusNoContent, admin.del("/admin/functions/c"))
	admin.deploy("c", `function onRequest() { console.log("new c"); return 2; }`, nil)
	c.mustStatus(http.StatusOK, c.get("/fn/c"))
	waitFor(t, func() bool {
		admin.mustStatus(http.StatusOK, admin.get("/admin/functions/c/logs")).decode(&logs)
		return len(logs.Items) > 0
	})
	time.Sleep(600 * time.Millisecond) // two more flushes of the log buffer
	admin.mustStatus(http.StatusOK, admin.get("/admin/functions/c/logs")).decode(&logs)
	if len(logs.Items) != 1 || logs.Items[0].Message != "new c" {
		t.Fatalf("the new c's logs: %+v", logs.Items)
	}
}

func TestFunctionWebsocketCall(t *testing.T) {
	api := newTestAPI(t)
	api.adminClient().deploy("sum", `function onRequest(req, ctx) {
  if (!Array.isArray(req.body)) throw new ctx.HttpError(400, "not_a_list", "send a list");
  return {total: req.body.reduce((a, b) => a + b, 0), who: ctx.user && ctx.user.id};
}`, nil)
	user, uid := api.signedIn()
	ws := user.dialWS()
	r := ws.call("call", map[string]any{"function": "sum", "payload": []int{1, 2, 3}})
	resp, _ := r["response"].(map[string]any)
	if r["action"] != "call" || resp["total"] != float64(6) || resp["who"] != uid || r["status"] != float64(200) {
		t.Fatalf("call reply %v", r)
	}
	ws.fails("call", map[string]any{"function": "sum", "payload": "x"}, "not_a_list")
	ws.fails("call", map[string]any{"function": "nope"}, "function_not_found")
	ws.fails("call", map[string]any{"payload": 1}, "missing_param")
}

func TestFunctionDeployReachesReplicas(t *testing.T) {
	api := newTestAPI(t)
	other := api.replica()
	admin := api.adminClient()
	c := api.client().on(other)
	for v := 1; v <= 3; v++ {
		admin.deploy("v", `function onRequest() { return `+string(rune('0'+v))+`; }`, nil)
		start := time.Now()
		for {
			r := c.get("/fn/v")
			if r.status == http.StatusOK && strings.TrimSpace(string(r.body)) == string(rune('0'+v)) {
				break
			}
			if time.Since(start) > 2*time.Second {
				t.Fatalf("version %d not served by the other replica 2 s after the deploy: %d %s", v, r.status, r.body)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// A replica that missed the event still follows, within its resync.
	deaf := api.deafReplica()
	admin.deploy("v", `function onRequest() { return 9; }`, nil)
	dc := api.client().on(deaf)
	deadline := time.Now().Add(15 * time.Second)
	for strings.TrimSpace(string(dc.get("/fn/v").body)) != "9" {
		if time.Now().After(deadline) {
			t.Fatal("a replica that missed the deploy's event never served the new version")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestFunctionFetchHosts(t *testing.T) {
	api := newTestAPI(t)
	admin := api.adminClient()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("fetched")) }))
	t.Cleanup(target.Close)
	admin.deploy("f", `async function onRequest(req, ctx) {
  try { const r = await ctx.fetch(req.query.url); return {status: r.status, body: await r.text()}; }
  catch (e) { return {status: 502, body: {refused: String(e.message || e)}}; }
}`, nil)
	c := api.client()
	if r := c.get("/fn/f?url=" + target.URL); r.status != 502 {
		t.Fatalf("fetch with no hosts allowed: %d %s", r.status, r.body)
	}
	admin.expectError(admin.patch("/admin/settings", map[string]any{"functionFetchHosts": []string{"http://x"}}), http.StatusBadRequest, "invalid_host")
	host := strings.TrimPrefix(target.URL, "http://")
	admin.mustStatus(http.StatusOK, admin.patch("/admin/settings", map[string]any{"functionFetchHosts": []string{host}}))
	if r := c.get("/fn/f?url=" + target.URL); r.status != 200 || !strings.Contains(string(r.body), "fetched") {
		t.Fatalf("fetch of an allowed host: %d %s", r.status, r.body)
	}
}
