package deploy_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/platformtest"
	"github.com/backpackhq/backpack/internal/testenv"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/gorilla/websocket"
)

// TestAPIReplicasOnSwarm is issue 18's scale-out: a backend's API goes from one replica to
// three and back under continuous load through Traefik over HTTPS (end users' cookie sessions,
// reads, writes, a function, websockets), and not one request fails: a new replica gets
// traffic only once it is ready (its functions loaded), a removed one drains first. Between
// the two, websockets opened one after the other land on different replicas, and a write
// through any replica reaches every one of them (broadcasts go through the backend's Redis).
func TestAPIReplicasOnSwarm(t *testing.T) {
	p := platformtest.Deploy(t, platformtest.Options{Traefik: true, TLS: true})
	name := platformtest.UniqueName("rep")
	up := seededLoad(t, p, name)
	ann, bob := up.users[0], up.users[1]
	// A function: a replica that answered before loading it would answer 404.
	p.MustStatus(http.StatusOK, p.Send(http.MethodPut, "/api/backends/"+name+"/admin/functions/whoami", map[string]any{
		"source": "function onRequest(req, ctx) { return {email: ctx.user && ctx.user.email}; }",
	}))
	ann.MustStatus(http.StatusOK, ann.Send(http.MethodGet, "/fn/whoami", nil))
	callFunction := func(l *load) func() {
		return func() {
			l.do("function", ann.HTTP, l.userRequest(ann, http.MethodGet, "/fn/whoami", nil), http.StatusOK)
		}
	}

	up.start(3, 2, 4)
	up.loop(callFunction(up))
	time.Sleep(5 * time.Second)
	start := time.Now()
	b := p.SetAPIReplicas(name, 3, 3*time.Minute)
	scaleUp := time.Since(start)
	time.Sleep(5 * time.Second) // traffic on all three
	stopLoad(t, up, "1 → 3 replicas")
	// Scaling adds tasks beside the one that runs, rather than replacing it: no websocket of
	// the load was closed.
	for _, c := range up.clients {
		if len(c.sessions) != 1 {
			t.Errorf("websocket client %d had %d connections while the API scaled up: the running task was replaced", c.id, len(c.sessions))
		}
	}
	t.Logf("1 → 3 API replicas: %.1fs until the control plane reported 3/3 running (%+v)", scaleUp.Seconds(), b.Services)

	// Websockets on different replicas, a broadcast reaching them all.
	before := replicaConnections(t, p, name)
	if len(before) != 3 {
		t.Fatalf("%d api containers run, want 3", len(before))
	}
	var conns []*websocket.Conn
	for range 6 {
		ws, err := ann.Websocket()
		if err != nil {
			t.Fatalf("websocket: %v", err)
		}
		defer ws.Close()
		conns = append(conns, ws)
	}
	time.Sleep(time.Second)
	after := replicaConnections(t, p, name)
	holding := 0
	var spread []string
	for id, n := range after {
		spread = append(spread, fmt.Sprintf("%s: +%d", id[:12], n-before[id]))
		if n > before[id] {
			holding++
		}
	}
	t.Logf("connections from Traefik per replica after opening 6 websockets: %s", strings.Join(spread, ", "))
	if holding < 2 {
		t.Errorf("the 6 websockets all landed on %d replica(s), want them spread: %s", holding, strings.Join(spread, ", "))
	}
	for i := range 3 {
		title := fmt.Sprintf("across replicas %d", i)
		bob.MustStatus(http.StatusCreated, bob.Send(http.MethodPost, "/notes", map[string]any{"title": title}))
		for _, ws := range conns {
			waitBroadcast(t, ws, "notes", title)
		}
	}

	down := newLoad(t, p, name, "notes", up.key.Load().(string), up.users, up.ids)
	down.start(3, 2, 4)
	down.loop(callFunction(down))
	time.Sleep(5 * time.Second)
	start = time.Now()
	p.SetAPIReplicas(name, 1, 3*time.Minute)
	t.Logf("3 → 1 API replicas: %.1fs until the control plane reported 1/1 running", time.Since(start).Seconds())
	time.Sleep(15 * time.Second) // past the removed replicas' drain
	stopLoad(t, down, "3 → 1 replicas")
}

// stopLoad stops a load and fails the test for each failed request and each broadcast a
// websocket missed; unlike finish, it does not expect every websocket to have reconnected
// (adding replicas moves none).
func stopLoad(t *testing.T, l *load, what string) {
	t.Helper()
	l.stop()
	requests, failures := l.counts()
	missed := l.missing(false)
	l.mu.Lock()
	defer l.mu.Unlock()
	received, sessions := 0, 0
	for _, c := range l.clients {
		sessions += len(c.sessions)
		for _, s := range c.sessions {
			received += len(s.got)
		}
	}
	t.Logf("%s: %d requests (%v), %d failed; %d writes; %d websocket clients, %d connections, %d broadcasts received",
		what, requests, l.sent, failures, len(l.writes), len(l.clients), sessions, received)
	if failures > 0 {
		t.Errorf("%s: %d of %d requests failed:\n%s", what, failures, requests, strings.Join(l.failures, "\n"))
	}
	if len(missed) > 0 {
		t.Errorf("%s: websocket clients missed broadcasts:\n%s", what, strings.Join(missed, "\n"))
	}
}

// replicaConnections counts, per running container of the backend's api service, the
// established TCP connections to its public port (3000) — from Traefik, since nothing else
// reaches it — read from the container's network namespace (/proc/PID/net/tcp*).
func replicaConnections(t *testing.T, p *platformtest.Platform, name string) map[string]int {
	t.Helper()
	ctx := context.Background()
	list, err := p.Cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", "com.docker.swarm.service.name="+name+"_api"), filters.Arg("status", "running"))})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, c := range list {
		info, err := p.Cli.ContainerInspect(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, file := range []string{"tcp", "tcp6"} {
			f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", info.State.Pid, file))
			if err != nil {
				testenv.Missing(t, fmt.Sprintf("root, to read the replicas' connections in /proc (%v)", err))
			}
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				fields := strings.Fields(sc.Text())
				// local_address is ADDR:PORT in hex; state 01 is ESTABLISHED.
				if len(fields) > 3 && strings.HasSuffix(fields[1], ":0BB8") && fields[3] == "01" {
					n++
				}
			}
			f.Close()
		}
		out[c.ID] = n
	}
	return out
}
