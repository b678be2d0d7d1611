package deploy_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/platformtest"
	"github.com/backpackhq/backpack/internal/swarmtest"
	"github.com/gorilla/websocket"
)

// TestPlatformOnSwarm is the journey of a developer and end users on a real swarm, through
// Traefik over HTTPS with Pebble's certificates, the control plane itself a Swarm service: the
// edge (redirects, HTTP/2, certificates, nothing private reachable) → create → running → the
// first HTTPS request → end users (register, cookie login, CRUD, files, wss broadcast between
// two clients) → admin proxy → site with SPA fallback → docker stack ls → delete keeping data
// → re-create with the data back → purge leaving nothing; backups taken through the admin
// port, restored and copied into a new backend; then a few crash trials (the control plane
// killed in the middle of a create, a rotation and a delete), after which everything converges
// with no duplicate services and nothing leaked; `make chaos` runs twenty.
func TestPlatformOnSwarm(t *testing.T) {
	p := platformtest.Deploy(t, platformtest.Options{Traefik: true, TLS: true})
	t.Run("edge", func(t *testing.T) {
		p.T = t
		testEdge(t, p)
	})
	t.Run("journey", func(t *testing.T) {
		p.T = t
		testJourney(t, p)
	})
	t.Run("backups", func(t *testing.T) {
		p.T = t
		testBackups(t, p)
	})
	t.Run("crash trials", func(t *testing.T) {
		p.T = t
		runCrashTrials(t, p, shortCrashTrials)
	})
}

// TestPlatformWithoutTLS is the platform as docs/deploy.md promises it on a local domain with
// BACKPACK_TLS=false: Traefik routes plain HTTP on *.localhost, no certificate is asked for.
func TestPlatformWithoutTLS(t *testing.T) {
	p := platformtest.Deploy(t, platformtest.Options{Traefik: true})
	name := platformtest.UniqueName("local")
	b := p.Create(name)
	p.FirstAnswer(p.APIURL(name)+"/healthz", 2*time.Minute)
	ann := p.EndUser(name, b.APIKey)
	ann.SignUp("ann@example.com", "password123")
	ann.MustStatus(http.StatusCreated, ann.Send(http.MethodPost, "/collections", map[string]any{"name": "notes"}))
	ws, err := ann.Websocket()
	if err != nil {
		t.Fatalf("ws://%s-be.localhost/ws: %v", name, err)
	}
	defer ws.Close()
	ann.MustStatus(http.StatusCreated, ann.Send(http.MethodPost, "/notes", map[string]any{"title": "plain"}))
	waitBroadcast(t, ws, "notes", "plain")
	p.MustStatus(http.StatusCreated, p.Raw(http.MethodPost, "/api/backends/"+name+"/site",
		bytes.NewReader(platformtest.SiteZip(t, map[string]string{"index.html": "<h1>local " + name + "</h1>"})), "application/zip"))
	site := p.Client(nil)
	req, _ := http.NewRequest(http.MethodGet, p.SiteURL(name)+"/deep/link", nil)
	if a := platformtest.Do(t, site, req); a.Status != http.StatusOK || !strings.Contains(string(a.Body), "local "+name) {
		t.Fatalf("site over http: %d %q", a.Status, a.Body)
	}
	if a := p.Send(http.MethodGet, "/", nil); a.Status != http.StatusOK || a.TLS != nil {
		t.Fatalf("the panel over plain http: %d (TLS %v)", a.Status, a.TLS != nil)
	}
	p.MustStatus(http.StatusAccepted, p.Send(http.MethodDelete, "/api/backends/"+name+"?purge=true", nil))
	p.WaitGone(name, 3*time.Minute)
}

func testJourney(t *testing.T, p *platformtest.Platform) {
	ctx := context.Background()
	name := platformtest.UniqueName("shop")
	p.Ask(name)
	b := p.WaitState(name, "running", 4*time.Minute)
	if b.APIKey == "" {
		t.Fatalf("backend without an API key: %+v", b)
	}
	// Certificates are asked for once Traefik sees the routers, which is when the tasks run.
	t.Logf("first HTTPS answer after running: api %s, site %s",
		p.FirstAnswer(p.APIURL(name)+"/healthz", 2*time.Minute), p.FirstAnswer(p.SiteURL(name)+"/", 2*time.Minute))

	ann := p.EndUser(name, b.APIKey)
	reg := ann.MustStatus(http.StatusCreated, ann.Send(http.MethodPost, "/auth/register", map[string]any{"email": "ann@example.com", "password": "password123"}))
	requireCertificate(t, reg.TLS, name+"-be."+p.Domain)
	if reg.Proto != "HTTP/2.0" {
		t.Errorf("the API came over %s, want HTTP/2.0", reg.Proto)
	}
	login := ann.Send(http.MethodPost, "/auth/login", map[string]any{"email": "ann@example.com", "password": "password123"})
	ann.MustStatus(http.StatusOK, login)
	if c := login.Header.Get("Set-Cookie"); !strings.HasPrefix(c, "__Host-bkpk_session=") || !strings.Contains(c, "Secure") || !strings.Contains(c, "HttpOnly") {
		t.Fatalf("login over https set %q, want a Secure HttpOnly __Host- session cookie", c)
	}
	if allow := login.Header.Get("Access-Control-Allow-Origin"); allow != p.SiteURL(name) {
		t.Errorf("CORS allows %q, want the site %s", allow, p.SiteURL(name))
	}
	ann.MustStatus(http.StatusOK, ann.Send(http.MethodGet, "/auth/me", nil))

	ann.MustStatus(http.StatusCreated, ann.Send(http.MethodPost, "/collections", map[string]any{"name": "notes"}))
	var note map[string]any
	ann.MustStatus(http.StatusCreated, ann.Send(http.MethodPost, "/notes", map[string]any{"title": "first"})).Decode(&note)
	id, _ := note["_id"].(string)
	ann.MustStatus(http.StatusOK, ann.Send(http.MethodPatch, "/notes/"+id, map[string]any{"done": true}))
	ann.MustStatus(http.StatusOK, ann.Send(http.MethodGet, "/notes/"+id, nil))

	// A file up and down over HTTPS, with the cookie.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "report 1.txt")
	_, _ = fw.Write([]byte("quarterly numbers"))
	_ = mw.Close()
	req := ann.Request(http.MethodPost, "/files", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	var meta struct {
		Owner    string `json:"owner"`
		Filename string `json:"filename"`
	}
	ann.MustStatus(http.StatusCreated, platformtest.Do(t, ann.HTTP, req)).Decode(&meta)
	got := ann.MustStatus(http.StatusOK, ann.Send(http.MethodGet, "/files/"+meta.Owner+"/"+url.PathEscape(meta.Filename), nil))
	if string(got.Body) != "quarterly numbers" {
		t.Fatalf("file over https = %q", got.Body)
	}

	// Two users' wss:// connections: each receives the broadcast of the other's write.
	bob := p.EndUser(name, b.APIKey)
	bob.MustStatus(http.StatusCreated, bob.Send(http.MethodPost, "/auth/register", map[string]any{"email": "bob@example.com", "password": "password456"}))
	bob.Login("bob@example.com", "password456")
	annWS, err := ann.Websocket()
	if err != nil {
		t.Fatalf("wss for ann: %v", err)
	}
	defer annWS.Close()
	bobWS, err := bob.Websocket()
	if err != nil {
		t.Fatalf("wss for bob: %v", err)
	}
	defer bobWS.Close()
	ann.MustStatus(http.StatusCreated, ann.Send(http.MethodPost, "/notes", map[string]any{"title": "second"}))
	waitBroadcast(t, bobWS, "notes", "second")
	bob.MustStatus(http.StatusCreated, bob.Send(http.MethodPost, "/notes", map[string]any{"title": "third"}))
	waitBroadcast(t, annWS, "notes", "third")

	// Through Traefik, nothing private answers: the admin routes and metrics are on the admin
	// port only, which no router reaches, and no name leads to it.
	for _, path := range []string{"/admin/users", "/admin/settings", "/metrics"} {
		if a := ann.Send(http.MethodGet, path, nil); a.Status != http.StatusNotFound {
			t.Errorf("https://%s-be.%s%s: %d %s, want 404", name, p.Domain, path, a.Status, a.Body)
		}
	}
	if _, err := p.Client(nil).Get("https://" + name + "-admin." + p.Domain + "/admin/users"); err == nil {
		t.Errorf("%s-admin.%s answered over verified HTTPS", name, p.Domain)
	}
	public := p.Probe()
	for _, addr := range []string{name + "-admin:3001", name + "_api:3001", name + "_mongo:27017", name + "_redis:6379"} {
		if err := public.Reachable(ctx, addr); err == nil {
			t.Errorf("%s is reachable from backpack_public", addr)
		}
	}

	// The control plane's image carries the admin panel: its page and its scripts.
	if page := p.MustStatus(http.StatusOK, p.Send(http.MethodGet, "/backends/"+name, nil)); !bytes.Contains(page.Body, []byte(`src="/assets/app.js"`)) {
		t.Fatalf("the panel page = %s", page.Body)
	}
	p.MustStatus(http.StatusOK, p.Send(http.MethodGet, "/assets/app.js", nil))

	// The admin proxy reaches the admin port over backpack_admin.
	var users []map[string]any
	p.MustStatus(http.StatusOK, p.Send(http.MethodGet, "/api/backends/"+name+"/admin/users", nil)).Decode(&users)
	if len(users) != 2 {
		t.Fatalf("users through the admin proxy = %v", users)
	}

	// A function deployed through the admin proxy runs in the API's container (its worker
	// processes re-execute the FROM-scratch binary) and answers through Traefik over HTTPS.
	p.MustStatus(http.StatusOK, p.Send(http.MethodPut, "/api/backends/"+name+"/admin/functions/whoami", map[string]any{
		"source": "function onRequest(req, ctx) { return {email: ctx.user && ctx.user.email, path: req.path}; }",
	}))
	var who map[string]any
	ann.MustStatus(http.StatusOK, ann.Send(http.MethodGet, "/fn/whoami/x", nil)).Decode(&who)
	if who["email"] != "ann@example.com" || who["path"] != "/x" {
		t.Fatalf("function through Traefik = %v", who)
	}

	// A site release, served over HTTPS with the SPA fallback.
	zipBody := platformtest.SiteZip(t, map[string]string{"index.html": "<h1>home of " + name + "</h1>", "app.js": "console.log(1)"})
	p.MustStatus(http.StatusCreated, p.Raw(http.MethodPost, "/api/backends/"+name+"/site", bytes.NewReader(zipBody), "application/zip"))
	site := p.Client(nil)
	for path, want := range map[string]string{"/": "home of " + name, "/products/42": "home of " + name, "/app.js": "console.log(1)"} {
		req, _ := http.NewRequest(http.MethodGet, p.SiteURL(name)+path, nil)
		a := platformtest.Do(t, site, req)
		if a.Status != http.StatusOK || !strings.Contains(string(a.Body), want) {
			t.Fatalf("site %s = %d %q", path, a.Status, a.Body)
		}
		requireCertificate(t, a.TLS, name+"."+p.Domain)
	}

	// docker stack ls lists the backend as a stack of four services.
	out, err := exec.Command("docker", "stack", "ls", "--format", "{{.Name}} {{.Services}}").CombinedOutput()
	if err != nil || !slices.Contains(strings.Split(strings.TrimSpace(string(out)), "\n"), name+" 4") {
		t.Fatalf("docker stack ls: %v\n%s", err, out)
	}
	// docker stack ps shows its four tasks running.
	out, err = exec.Command("docker", "stack", "ps", name, "--filter", "desired-state=running", "--format", "{{.Name}} {{.CurrentState}}").CombinedOutput()
	if err != nil || strings.Count(string(out), "Running") != 4 {
		t.Fatalf("docker stack ps %s: %v\n%s", name, err, out)
	}

	// Logs come from the service logs API, for any service, and can be followed.
	if a := p.Send(http.MethodGet, "/api/backends/"+name+"/logs?tail=100", nil); a.Status != http.StatusOK || !strings.Contains(string(a.Body), "/auth/register") {
		t.Fatalf("api logs: %d %s", a.Status, a.Body)
	}
	if a := p.Send(http.MethodGet, "/api/backends/"+name+"/logs?service=nope", nil); a.Status != http.StatusBadRequest && a.Status != http.StatusNotFound {
		t.Fatalf("logs of an unknown service: %d %s", a.Status, a.Body)
	}
	followCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	freq, _ := http.NewRequestWithContext(followCtx, http.MethodGet, p.Admin+"/api/backends/"+name+"/logs?follow=true&tail=1", nil)
	resp, err := p.HTTP.Do(freq)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("follow logs: %v %v", err, resp)
	}
	ann.MustStatus(http.StatusOK, ann.Send(http.MethodGet, "/notes/"+id, nil))
	followed, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	cancel()
	// tail=1 is the site upload's line; the read that followed arrives while streaming.
	if !strings.Contains(string(followed), `"method":"GET","route":"/:collection/:id","path":"/notes/`+id) {
		t.Fatalf("a followed log did not get the new line: %q", followed)
	}

	// Delete keeping data: only volumes remain; re-created, the data is back.
	p.MustStatus(http.StatusAccepted, p.Send(http.MethodDelete, "/api/backends/"+name, nil))
	p.WaitState(name, "deleted", 3*time.Minute)
	for _, o := range swarmtest.StackObjects(t, p.Cli, name) {
		if !strings.HasPrefix(o, "volume ") {
			t.Errorf("left after delete keeping data: %s", o)
		}
	}
	b = p.Create(name)
	p.FirstAnswer(p.APIURL(name)+"/healthz", 2*time.Minute)
	ann = p.EndUser(name, b.APIKey)
	ann.Login("ann@example.com", "password123")
	var notes []map[string]any
	ann.MustStatus(http.StatusOK, ann.Send(http.MethodGet, "/notes", nil)).Decode(&notes)
	if len(notes) != 3 {
		t.Fatalf("notes after re-create = %v", notes)
	}

	// Purge: nothing of it remains.
	p.MustStatus(http.StatusAccepted, p.Send(http.MethodDelete, "/api/backends/"+name+"?purge=true", nil))
	p.WaitGone(name, 3*time.Minute)
	if left := swarmtest.StackObjects(t, p.Cli, name); len(left) > 0 {
		t.Fatalf("left after purge: %v", left)
	}
}

// waitBroadcast reads ws until the broadcast of a document of collection titled title.
func waitBroadcast(t *testing.T, ws *websocket.Conn, collection, title string) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		var m map[string]any
		if err := ws.ReadJSON(&m); err != nil {
			t.Fatalf("no broadcast of %s %q: %v", collection, title, err)
		}
		doc, _ := m["response"].(map[string]any)
		if m["action"] == "create" && m["collection"] == collection && doc["title"] == title {
			return
		}
	}
}
