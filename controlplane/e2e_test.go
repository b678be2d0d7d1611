package controlplane

import (
	"archive/zip"
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// siteZip builds a site archive in memory.
func siteZip(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestEndToEnd walks a developer's whole journey through the real HTTP server: create a
// backend, use it as an end user through the host router, watch it through the admin proxy,
// publish a site, rotate the key, restart the control plane, delete keeping data, re-create,
// purge.
func TestEndToEnd(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { endToEnd(t) })
	t.Run("postgres", func(t *testing.T) { endToEnd(t, onPostgres(t)) })
}

func endToEnd(t *testing.T, opts ...planeOption) {
	p := newTestPlane(t, opts...)
	p.developer() // the operator
	d := p.developer()

	// Create, and follow the events from the start of the operation until it settles.
	created := d.mustStatus(http.StatusAccepted, d.post("/api/backends", map[string]any{"name": "shop"})).backend()
	if created.State != "creating" || created.APIURL != p.url("shop-be", "") || created.SiteURL != p.url("shop", "") || created.Owner != d.email {
		t.Fatalf("created = %+v", created)
	}
	events := d.events("shop")
	if len(events) < 3 || events[0].Message == "" || events[0].State != "creating" || events[len(events)-1].State != "running" {
		t.Fatalf("events = %+v", events)
	}
	for i := 1; i < len(events); i++ {
		if events[i].ID <= events[i-1].ID || events[i].Operation != events[0].Operation {
			t.Fatalf("events out of order or from another operation: %+v", events)
		}
	}
	b := d.mustStatus(http.StatusOK, d.get("/api/backends/shop")).backend()
	if b.State != "running" || len(b.APIKey) < 16 || b.Node != "local" || len(b.Services) == 0 {
		t.Fatalf("backend = %+v", b)
	}
	for _, svc := range b.Services {
		if svc.Running != svc.Desired || svc.Desired == 0 {
			t.Fatalf("service %+v not running", svc)
		}
	}

	// An end user through NAME-be.localhost: register, sign in, CRUD.
	ann := p.endUser("shop", b.APIKey)
	ann.mustStatus(http.StatusCreated, ann.send(http.MethodPost, "/auth/register", map[string]any{"email": "ann@example.com", "password": "password123"}))
	ann.mustStatus(http.StatusOK, ann.send(http.MethodPost, "/auth/login", map[string]any{"email": "ann@example.com", "password": "password123"}))
	ann.mustStatus(http.StatusCreated, ann.send(http.MethodPost, "/collections", map[string]any{"name": "notes"}))
	var note map[string]any
	ann.mustStatus(http.StatusCreated, ann.send(http.MethodPost, "/notes", map[string]any{"title": "first"})).decode(&note)
	id := note["_id"].(string)
	ann.mustStatus(http.StatusOK, ann.send(http.MethodPatch, "/notes/"+id, map[string]any{"done": true}))

	// A websocket of the end user, and the developer's admin websocket through the proxy.
	origin := http.Header{"Origin": {p.url("shop", "")}}
	userWS, res, err := p.dialWS(strings.Replace(p.url("shop-be", "/ws?apiKey="+b.APIKey), "http", "ws", 1), origin, ann.http.Jar)
	if err != nil {
		t.Fatalf("end user websocket: %v %v", err, res)
	}
	defer userWS.Close()
	adminWS, res, err := p.dialWS(strings.Replace(p.url("admin", "/api/backends/shop/admin/ws"), "http", "ws", 1),
		http.Header{"Origin": {p.url("admin", "")}}, d.http.Jar)
	if err != nil {
		t.Fatalf("admin proxy websocket: %v %v", err, res)
	}
	defer adminWS.Close()
	ann.mustStatus(http.StatusCreated, ann.send(http.MethodPost, "/notes", map[string]any{"title": "second"}))
	isSecond := func(m map[string]any) bool {
		doc, _ := m["response"].(map[string]any)
		return m["action"] == "create" && m["collection"] == "notes" && doc["title"] == "second"
	}
	readJSON(t, userWS, isSecond)
	if m := readJSON(t, adminWS, isSecond); m["kind"] != "document" {
		t.Fatalf("admin stream message = %v", m)
	}

	// The admin proxy over HTTP: the backend's users, as the admin port lists them.
	var users []map[string]any
	d.mustStatus(http.StatusOK, d.get("/api/backends/shop/admin/users")).decode(&users)
	if len(users) != 1 || users[0]["email"] != "ann@example.com" {
		t.Fatalf("users through the proxy = %v", users)
	}

	// A function deployed through the proxy answers end users at /fn/NAME and fires its hook on
	// their writes; its logs come back through the proxy too.
	d.mustStatus(http.StatusOK, d.send(http.MethodPut, "/api/backends/shop/admin/functions/greet", map[string]any{
		"source":      "function onRequest(req, ctx) { console.log('greeting', ctx.user.email); return {hello: ctx.user.email}; }\nfunction beforeCreate(doc) { doc.stamped = true; return doc; }",
		"collections": []string{"notes"},
	}))
	var greeting map[string]string
	ann.mustStatus(http.StatusOK, ann.send(http.MethodGet, "/fn/greet", nil)).decode(&greeting)
	if greeting["hello"] != "ann@example.com" {
		t.Fatalf("function through the local runtime = %v", greeting)
	}
	ann.mustStatus(http.StatusCreated, ann.send(http.MethodPost, "/notes", map[string]any{"title": "hooked"})).decode(&note)
	if note["stamped"] != true {
		t.Fatalf("hooked write = %v", note)
	}
	ann.mustStatus(http.StatusOK, ann.send(http.MethodDelete, "/notes/"+note["_id"].(string), nil))
	deadline := time.Now().Add(5 * time.Second)
	for {
		var logs struct{ Items []struct{ Message string } }
		d.mustStatus(http.StatusOK, d.get("/api/backends/shop/admin/functions/greet/logs")).decode(&logs)
		if len(logs.Items) == 1 && logs.Items[0].Message == "greeting ann@example.com" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("function logs through the proxy = %+v", logs.Items)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A site release, served at NAME.localhost with the SPA fallback.
	zipBody := siteZip(t, map[string]string{"index.html": "<h1>shop home</h1>", "app.js": "console.log(1)"})
	d.mustStatus(http.StatusCreated, d.raw(http.MethodPost, "/api/backends/shop/site", bytes.NewReader(zipBody), "application/zip"))
	site := p.anonymous()
	for path, want := range map[string]string{"/": "shop home", "/products/42": "shop home", "/app.js": "console.log(1)"} {
		r := do(t, site.http, mustRequest(t, http.MethodGet, p.url("shop", path)))
		if r.status != http.StatusOK || !strings.Contains(string(r.body), want) {
			t.Fatalf("site %s = %d %q", path, r.status, r.body)
		}
	}

	// Rotation: the new key works at once and the old one for the overlap; rotating again with
	// revokePrevious stops the key it replaces at once. The last key is what the panel shows.
	var first, rotated struct {
		APIKey                   string
		PreviousAPIKeyValidUntil string `json:"previousApiKeyValidUntil"`
	}
	d.mustStatus(http.StatusOK, d.post("/api/backends/shop/api-key", nil)).decode(&first)
	if first.APIKey == "" || first.APIKey == b.APIKey || first.PreviousAPIKeyValidUntil == "" {
		t.Fatalf("rotation = %+v", first)
	}
	ann.mustStatus(http.StatusOK, ann.send(http.MethodGet, "/notes", nil))
	d.mustStatus(http.StatusOK, d.post("/api/backends/shop/api-key", map[string]any{"revokePrevious": true})).decode(&rotated)
	if rotated.APIKey == "" || rotated.APIKey == first.APIKey || rotated.PreviousAPIKeyValidUntil != "" {
		t.Fatalf("revoking rotation = %+v", rotated)
	}
	ann.send(http.MethodGet, "/notes", nil).expectError(http.StatusUnauthorized, "invalid_api_key")
	ann.apiKey = first.APIKey
	ann.send(http.MethodGet, "/notes", nil).expectError(http.StatusUnauthorized, "invalid_api_key")
	ann.apiKey = rotated.APIKey
	ann.mustStatus(http.StatusOK, ann.send(http.MethodGet, "/notes", nil))
	if got := d.get("/api/backends/shop").backend().APIKey; got != rotated.APIKey {
		t.Fatalf("panel shows key %q, want the rotated %q", got, rotated.APIKey)
	}

	// A control plane restart: the backend comes back with its data, key and site.
	p.restart()
	d.p, ann.p, site.p = p, p, p
	d.waitState("shop", "running")
	waitFor(t, "the backend's API after a restart", func() bool {
		return ann.send(http.MethodGet, "/notes", nil).status != http.StatusServiceUnavailable
	})
	ann.mustStatus(http.StatusOK, ann.send(http.MethodPost, "/auth/login", map[string]any{"email": "ann@example.com", "password": "password123"}))
	var notes []map[string]any
	ann.mustStatus(http.StatusOK, ann.send(http.MethodGet, "/notes", nil)).decode(&notes)
	if len(notes) != 2 {
		t.Fatalf("notes after restart = %v", notes)
	}
	if r := do(t, site.http, mustRequest(t, http.MethodGet, p.url("shop", "/"))); !strings.Contains(string(r.body), "shop home") {
		t.Fatalf("site after restart = %d %q", r.status, r.body)
	}

	// Delete keeping data: the API is gone, the row stays as deleted; re-creating re-attaches.
	d.mustStatus(http.StatusAccepted, d.delete("/api/backends/shop"))
	if ev := d.events("shop"); ev[len(ev)-1].State != "deleted" {
		t.Fatalf("delete events = %+v", ev)
	}
	if got := d.get("/api/backends/shop"); got.backend().State != "deleted" || !bytes.Contains(got.body, []byte(`"services":[]`)) {
		t.Fatalf("after delete = %s", got.body)
	}
	ann.send(http.MethodGet, "/notes", nil).expectError(http.StatusNotFound, "backend_not_found")
	d.createBackend("shop")
	ann.mustStatus(http.StatusOK, ann.send(http.MethodPost, "/auth/login", map[string]any{"email": "ann@example.com", "password": "password123"}))
	ann.mustStatus(http.StatusOK, ann.send(http.MethodGet, "/notes", nil)).decode(&notes)
	if len(notes) != 2 {
		t.Fatalf("notes after re-create = %v", notes)
	}

	// Purge: the backend and its data are gone; the name is free and a new one starts empty.
	d.mustStatus(http.StatusAccepted, d.delete("/api/backends/shop?purge=true"))
	waitFor(t, "the purged backend to disappear", func() bool { return d.get("/api/backends/shop").status == http.StatusNotFound })
	if _, err := os.Stat(filepath.Join(p.dir, "runtime", "backends", "shop")); !os.IsNotExist(err) {
		t.Fatalf("the purged backend's directory is still there: %v", err)
	}
	fresh := d.createBackend("shop")
	ann.apiKey = fresh.APIKey
	ann.send(http.MethodPost, "/auth/login", map[string]any{"email": "ann@example.com", "password": "password123"}).
		expectError(http.StatusUnauthorized, "invalid_credentials")
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func (u *endUser) mustStatus(status int, r *resp) *resp {
	u.p.t.Helper()
	if r.status != status {
		u.p.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

// waitFor polls cond for up to 20 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 400 {
		if cond() {
			return
		}
		sleep()
	}
	t.Fatalf("timed out waiting for %s", what)
}
