package deploy_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/controlplane/runtime/swarm"
	"github.com/backpackhq/backpack/controlplane/runtime/swarm/convert"
	"github.com/backpackhq/backpack/internal/swarmtest"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	dockerswarm "github.com/docker/docker/api/types/swarm"
)

// TestPlatformOnSwarm is the journey of the issue on a real swarm, the control plane itself a
// Swarm service: create → running → end users over backpack_public (register, login, CRUD,
// websocket broadcast) → isolation → admin proxy → site → docker stack ls → delete keeping data
// → re-create with the data back → purge leaving nothing; then a control plane killed in the
// middle of a create, which converges after its restart with no duplicate services.
func TestPlatformOnSwarm(t *testing.T) {
	p := deployPlatform(t)
	public := swarmtest.StartProbe(t, p.cli, swarm.PublicNetwork)
	ctx := context.Background()

	t.Run("journey", func(t *testing.T) {
		p.t = t
		name := uniqueName("shop")
		b := p.create(name)
		if b.APIKey == "" {
			t.Fatalf("backend without an API key: %+v", b)
		}
		ann := newEndUser(t, public, name, b.APIKey)
		ann.mustStatus(http.StatusCreated, ann.send(http.MethodPost, "/auth/register", map[string]any{"email": "ann@example.com", "password": "password123"}))
		ann.login("ann@example.com", "password123")
		ann.mustStatus(http.StatusCreated, ann.send(http.MethodPost, "/collections", map[string]any{"name": "notes"}))
		var note map[string]any
		ann.mustStatus(http.StatusCreated, ann.send(http.MethodPost, "/notes", map[string]any{"title": "first"})).decode(&note)
		id, _ := note["_id"].(string)
		ann.mustStatus(http.StatusOK, ann.send(http.MethodPatch, "/notes/"+id, map[string]any{"done": true}))
		ann.mustStatus(http.StatusOK, ann.send(http.MethodGet, "/notes/"+id, nil))

		// A websocket over backpack_public receives the broadcast of a write.
		ws, res, err := public.WebsocketDialer().Dial("ws://"+name+"_api:3000/ws?apiKey="+b.APIKey+"&token="+ann.token, http.Header{
			"Host": {name + "-be.localhost"}, "Origin": {"http://" + name + ".localhost"}})
		if err != nil {
			t.Fatalf("end user websocket: %v %v", err, res)
		}
		defer ws.Close()
		ann.mustStatus(http.StatusCreated, ann.send(http.MethodPost, "/notes", map[string]any{"title": "second"}))
		_ = ws.SetReadDeadline(time.Now().Add(15 * time.Second))
		for {
			var m map[string]any
			if err := ws.ReadJSON(&m); err != nil {
				t.Fatalf("no broadcast of the second note: %v", err)
			}
			doc, _ := m["response"].(map[string]any)
			if m["action"] == "create" && m["collection"] == "notes" && doc["title"] == "second" {
				break
			}
		}

		// From backpack_public, nothing private answers.
		for _, addr := range []string{name + "-admin:3001", name + "_api:3001", name + "_mongo:27017", name + "_redis:6379"} {
			if err := public.Reachable(ctx, addr); err == nil {
				t.Errorf("%s is reachable from backpack_public", addr)
			}
		}

		// The control plane's image carries the admin panel: its page and its scripts.
		if page := p.mustStatus(http.StatusOK, p.send(http.MethodGet, "/backends/"+name, nil)); !bytes.Contains(page.body, []byte(`src="/assets/app.js"`)) {
			t.Fatalf("the panel page = %s", page.body)
		}
		p.mustStatus(http.StatusOK, p.send(http.MethodGet, "/assets/app.js", nil))

		// The admin proxy reaches the admin port over backpack_admin.
		var users []map[string]any
		p.mustStatus(http.StatusOK, p.send(http.MethodGet, "/api/backends/"+name+"/admin/users", nil)).decode(&users)
		if len(users) != 1 || users[0]["email"] != "ann@example.com" {
			t.Fatalf("users through the admin proxy = %v", users)
		}

		// A site release, served by the web service with the SPA fallback.
		zipBody := siteZip(t, map[string]string{"index.html": "<h1>home of " + name + "</h1>", "app.js": "console.log(1)"})
		p.mustStatus(http.StatusCreated, p.raw(http.MethodPost, "/api/backends/"+name+"/site", bytes.NewReader(zipBody), "application/zip"))
		site := public.HTTPClient()
		for path, want := range map[string]string{"/": "home of " + name, "/products/42": "home of " + name, "/app.js": "console.log(1)"} {
			if a := siteGet(t, site, name, path); a.status != http.StatusOK || !strings.Contains(string(a.body), want) {
				t.Fatalf("site %s = %d %q", path, a.status, a.body)
			}
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
		if a := p.send(http.MethodGet, "/api/backends/"+name+"/logs?tail=100", nil); a.status != http.StatusOK || !strings.Contains(string(a.body), "/auth/register") {
			t.Fatalf("api logs: %d %s", a.status, a.body)
		}
		if a := p.send(http.MethodGet, "/api/backends/"+name+"/logs?service=nope", nil); a.status != http.StatusBadRequest && a.status != http.StatusNotFound {
			t.Fatalf("logs of an unknown service: %d %s", a.status, a.body)
		}
		followCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
		req, _ := http.NewRequestWithContext(followCtx, http.MethodGet, p.base+"/api/backends/"+name+"/logs?follow=true&tail=1", nil)
		resp, err := p.http.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("follow logs: %v %v", err, resp)
		}
		ann.mustStatus(http.StatusOK, ann.send(http.MethodGet, "/notes/"+id, nil))
		followed, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		// tail=1 is the site upload's line; the read that followed arrives while streaming.
		if !strings.Contains(string(followed), `"method":"GET","route":"/:collection/:id","path":"/notes/`+id) {
			t.Fatalf("a followed log did not get the new line: %q", followed)
		}

		// Delete keeping data: only volumes remain; re-created, the data is back.
		p.mustStatus(http.StatusAccepted, p.send(http.MethodDelete, "/api/backends/"+name, nil))
		p.waitState(name, "deleted", 3*time.Minute)
		for _, o := range swarmtest.StackObjects(t, p.cli, name) {
			if !strings.HasPrefix(o, "volume ") {
				t.Errorf("left after delete keeping data: %s", o)
			}
		}
		b = p.create(name)
		ann = newEndUser(t, public, name, b.APIKey)
		ann.login("ann@example.com", "password123")
		var notes []map[string]any
		ann.mustStatus(http.StatusOK, ann.send(http.MethodGet, "/notes", nil)).decode(&notes)
		if len(notes) != 2 {
			t.Fatalf("notes after re-create = %v", notes)
		}

		// Purge: nothing of it remains.
		p.mustStatus(http.StatusAccepted, p.send(http.MethodDelete, "/api/backends/"+name+"?purge=true", nil))
		deadline := time.Now().Add(3 * time.Minute)
		for time.Now().Before(deadline) {
			if _, status := p.backend(name); status == http.StatusNotFound {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if _, status := p.backend(name); status != http.StatusNotFound {
			t.Fatalf("purged backend still listed: %d", status)
		}
		if left := swarmtest.StackObjects(t, p.cli, name); len(left) > 0 {
			t.Fatalf("left after purge: %v", left)
		}
	})

	t.Run("control plane killed during create", func(t *testing.T) {
		p.t = t
		name := uniqueName("crash")
		p.ask(name)
		// Kill it once the stack is being made: some services exist, not all run yet.
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) && len(services(t, p, name)) == 0 {
			time.Sleep(20 * time.Millisecond)
		}
		if len(services(t, p, name)) == 0 {
			t.Fatal("no service of the new backend appeared")
		}
		killControlPlane(t, p)
		p.waitReady(3 * time.Minute)
		p.waitState(name, "running", 4*time.Minute)
		got := services(t, p, name)
		slices.Sort(got)
		if want := []string{name + "_api", name + "_mongo", name + "_redis", name + "_web"}; !slices.Equal(got, want) {
			t.Fatalf("services after the crash = %v, want %v", got, want)
		}
		p.mustStatus(http.StatusAccepted, p.send(http.MethodDelete, "/api/backends/"+name+"?purge=true", nil))
		deadline = time.Now().Add(3 * time.Minute)
		for time.Now().Before(deadline) && len(swarmtest.StackObjects(t, p.cli, name)) > 0 {
			time.Sleep(250 * time.Millisecond)
		}
		if left := swarmtest.StackObjects(t, p.cli, name); len(left) > 0 {
			t.Fatalf("left after purge: %v", left)
		}
	})
}

// uniqueName keeps runs apart: a name's data outlives a delete that keeps it.
func uniqueName(prefix string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func services(t testing.TB, p *platform, name string) []string {
	t.Helper()
	list, err := p.cli.ServiceList(context.Background(), dockerswarm.ServiceListOptions{
		Filters: filters.NewArgs(filters.Arg("label", convert.LabelNamespace+"="+name))})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range list {
		out = append(out, s.Spec.Name)
	}
	return out
}

// killControlPlane kills the control plane's container (SIGKILL: no graceful shutdown); Swarm
// starts a new task.
func killControlPlane(t testing.TB, p *platform) {
	t.Helper()
	ctx := context.Background()
	list, err := p.cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", "com.docker.swarm.service.name="+platformStack+"_controlplane"))})
	if err != nil || len(list) != 1 {
		t.Fatalf("control plane container: %v %v", list, err)
	}
	if err := p.cli.ContainerKill(ctx, list[0].ID, "KILL"); err != nil {
		t.Fatal(err)
	}
}
