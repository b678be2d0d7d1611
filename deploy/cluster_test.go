//go:build cluster

package deploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/controlplane/runtime/swarm/convert"
	"github.com/backpackhq/backpack/internal/platformtest"
	"github.com/backpackhq/backpack/internal/swarmtest"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
)

// TestPlatformOnTwoNodes is issue 18's many nodes (`make test-cluster`, built with -tags
// cluster): the platform on a swarm of this machine's engine (manager) and a second engine in
// a network namespace (worker). Two backends created at the same moment go to different
// nodes; the one on the worker answers through Traefik on the manager (API, websockets, site),
// its admin port through backpack_admin and its logs through the manager; the worker's engine
// stopped under load leaves the manager's backend serving with no failed request, turns the
// worker's backend degraded with a reason naming the node, and back to running with every
// acknowledged write once the node returns; a purge while the node is down keeps the name
// until the node is back, then leaves nothing on either node, and the name's next backend
// starts empty. The timeline and counts are reported.
func TestPlatformOnTwoNodes(t *testing.T) {
	cli := swarmtest.Engine(t)
	swarmtest.RequireImages(t, cli, swarmtest.StackImages()...)
	start := time.Now()
	w := swarmtest.StartWorker(t, cli, swarmtest.StackImages()...)
	report := []string{fmt.Sprintf("worker joined with the stack images loaded: %s", time.Since(start).Round(10*time.Millisecond))}
	p := platformtest.Deploy(t, platformtest.Options{Traefik: true, TLS: true})

	names := []string{platformtest.UniqueName("north"), platformtest.UniqueName("south")}
	asked := time.Now()
	for _, name := range names {
		p.Ask(name)
	}
	onNode := map[string]platformtest.Backend{}
	for _, name := range names {
		b := p.WaitState(name, "running", 5*time.Minute)
		report = append(report, fmt.Sprintf("create → running on %s: %s", b.Node, time.Since(asked).Round(10*time.Millisecond)))
		onNode[b.Node] = b
	}
	onWorker, onManager := onNode[swarmtest.WorkerHostname], platformtest.Backend{}
	for node, b := range onNode {
		if node != swarmtest.WorkerHostname {
			onManager = b
		}
	}
	if onWorker.Name == "" || onManager.Name == "" {
		t.Fatalf("two backends created at the same moment did not go to different nodes: %v", onNode)
	}

	var loads []*load
	for _, b := range []platformtest.Backend{onManager, onWorker} {
		loads = append(loads, seedLoad(t, p, b))
		checkAdminAndLogs(t, p, b.Name)
	}
	managerLoad, workerLoad := loads[0], loads[1]

	t.Run("node lost under load", func(t *testing.T) {
		p.T = t
		report = append(report, loseNode(t, p, w, managerLoad, workerLoad)...)
	})
	t.Run("purge while the node is down", func(t *testing.T) {
		p.T = t
		report = append(report, purgeOnLostNode(t, p, w, onWorker)...)
	})
	platformtest.Report(t, "two nodes (manager + worker in a network namespace, one machine)", report...)
}

// checkAdminAndLogs reads the backend's admin port through the control plane's proxy (over
// backpack_admin, wherever the backend runs) and its API logs (from the node that has them).
func checkAdminAndLogs(t *testing.T, p *platformtest.Platform, name string) {
	t.Helper()
	p.MustStatus(http.StatusOK, p.Send(http.MethodGet, "/api/backends/"+name+"/admin/collections", nil))
	deadline := time.Now().Add(30 * time.Second)
	for {
		a := p.Send(http.MethodGet, "/api/backends/"+name+"/logs?tail=200", nil)
		if a.Status == http.StatusOK && strings.Contains(string(a.Body), "/auth/register") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("api logs of %s: %d %s", name, a.Status, snippet(a.Body))
		}
		time.Sleep(time.Second)
	}
}

// loseNode stops the worker's engine while both backends are under load, then starts it again,
// and returns the timeline: the manager's backend must answer every request, the worker's must
// turn degraded naming the node, then run again with every acknowledged write.
func loseNode(t *testing.T, p *platformtest.Platform, w *swarmtest.Worker, managerLoad, workerLoad *load) []string {
	ctx := context.Background()
	for _, l := range []*load{managerLoad, workerLoad} {
		l.start(2, 2, 2)
		defer l.stop() // at once if the test stops early; a stopped load stops again at once
	}
	time.Sleep(10 * time.Second)
	workerRequests, workerFailures := workerLoad.counts()
	if workerFailures > 0 {
		t.Fatalf("the worker's backend failed %d of %d requests before its node was lost:\n%s", workerFailures, workerRequests, strings.Join(workerLoad.failures, "\n"))
	}
	stopped := time.Now()
	if err := w.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	engineStopped := time.Since(stopped)
	if err := w.WaitDown(ctx); err != nil {
		t.Fatal(err)
	}
	nodeDown := time.Since(stopped)
	want := "node " + swarmtest.WorkerHostname + " is down"
	b := p.WaitBackend(workerLoad.name, "degraded naming its node", 2*time.Minute, func(b platformtest.Backend) bool {
		return b.State == "degraded" && strings.Contains(b.LastError, want)
	})
	degraded := time.Since(stopped)
	t.Logf("worker's backend: %s (%s)", b.State, b.LastError)
	time.Sleep(20 * time.Second) // the manager's backend keeps serving while the node stays away
	restarted := time.Now()
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	nodeBack := time.Since(restarted)
	p.WaitState(workerLoad.name, "running", 5*time.Minute)
	running := time.Since(restarted)
	p.FirstAnswer(p.APIURL(workerLoad.name)+"/healthz", 2*time.Minute)
	answering := time.Since(restarted)
	time.Sleep(10 * time.Second) // both under load again

	stopLoad(t, managerLoad, "the manager's backend while the worker was lost")
	workerLoad.stop()
	requests, failures := workerLoad.counts()
	lost := 0
	for _, l := range []*load{managerLoad, workerLoad} {
		lost += missingWrites(t, p, l)
	}
	managerRequests, _ := managerLoad.counts()
	return []string{
		fmt.Sprintf("node loss: the engine took %s to stop (its containers stopping); node down %s after the stop began; worker's backend degraded (%q) %s after it, %s after the node was down",
			engineStopped.Round(10*time.Millisecond), nodeDown.Round(10*time.Millisecond), want, degraded.Round(10*time.Millisecond), (degraded - nodeDown).Round(10*time.Millisecond)),
		fmt.Sprintf("node back: ready %s after its engine started, backend running %s after, answering through Traefik %s after",
			nodeBack.Round(10*time.Millisecond), running.Round(10*time.Millisecond), answering.Round(10*time.Millisecond)),
		fmt.Sprintf("manager's backend during the loss: %d requests, 0 failed", managerRequests),
		fmt.Sprintf("worker's backend during the loss: %d requests, %d failed (its node was away)", requests, failures),
		fmt.Sprintf("acknowledged writes lost on both backends: %d (manager %d, worker %d acknowledged)", lost, len(managerLoad.writes), len(workerLoad.writes)),
	}
}

// missingWrites reads the load's collection back, page by page, and counts (and reports as
// errors) the acknowledged writes that are not there.
func missingWrites(t *testing.T, p *platformtest.Platform, l *load) int {
	t.Helper()
	u := l.users[0]
	present := map[int64]bool{}
	for skip := 0; ; skip += 1000 {
		q := url.Values{"filter": {`{"seq":{"$exists":true}}`}, "fields": {"seq"}, "sort": {"seq"}, "limit": {"1000"}, "skip": {fmt.Sprint(skip)}}
		a := u.MustStatus(http.StatusOK, u.Send(http.MethodGet, "/"+l.collection+"?"+q.Encode(), nil))
		var page []struct {
			Seq int64 `json:"seq"`
		}
		if err := json.Unmarshal(a.Body, &page); err != nil {
			t.Fatalf("read %s back: %v", l.name, err)
		}
		for _, d := range page {
			present[d.Seq] = true
		}
		if len(page) < 1000 {
			break
		}
	}
	lost := 0
	for _, w := range l.writes {
		if !present[w.seq] {
			lost++
			t.Errorf("%s: acknowledged write %d (answered at %s) is missing", l.name, w.seq, w.done.UTC().Format("15:04:05.000"))
		}
	}
	return lost
}

// purgeOnLostNode deletes the worker's backend with its data while the worker is down: the
// name stays taken, the backend deleting with an error naming the node, until the node returns
// and the purge removes its volumes there; nothing of it is left on either node, and a new
// backend of that name starts empty.
func purgeOnLostNode(t *testing.T, p *platformtest.Platform, w *swarmtest.Worker, b platformtest.Backend) []string {
	ctx := context.Background()
	if err := w.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.WaitDown(ctx); err != nil {
		t.Fatal(err)
	}
	p.MustStatus(http.StatusAccepted, p.Send(http.MethodDelete, "/api/backends/"+b.Name+"?purge=true", nil))
	waiting := p.WaitBackend(b.Name, "deleting with an error naming its node", 3*time.Minute, func(v platformtest.Backend) bool {
		return v.State == "deleting" && strings.Contains(v.LastError, swarmtest.WorkerHostname)
	})
	t.Logf("purge while the node is down: %s (%s)", waiting.State, waiting.LastError)
	if a := p.Send(http.MethodPost, "/api/backends", map[string]string{"name": b.Name}); a.Status != http.StatusConflict {
		t.Fatalf("re-creating %s while its purge waits for its node: %d %s, want 409", b.Name, a.Status, a.Body)
	}
	returned := time.Now()
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	p.WaitGone(b.Name, 5*time.Minute)
	purged := time.Since(returned)
	vols, err := w.Engine.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", convert.LabelNamespace+"="+b.Name))})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vols.Volumes {
		t.Errorf("volume %s of purged %s is still on the worker", v.Name, b.Name)
	}
	// The worker removes the containers of removed services (the purge job's too) by itself,
	// a moment after the manager has.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(time.Second) {
		containers, err := w.Engine.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", convert.LabelNamespace+"="+b.Name))})
		if err != nil {
			t.Fatal(err)
		}
		if len(containers) == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, c := range containers {
				t.Errorf("container %v of purged %s is still on the worker 2 minutes after the purge", c.Names, b.Name)
			}
			break
		}
	}
	if left := swarmtest.StackObjects(t, p.Cli, b.Name); len(left) > 0 {
		t.Errorf("purged %s left %v", b.Name, left)
	}

	again := p.Create(b.Name)
	ann := p.EndUser(b.Name, again.APIKey)
	if a := ann.Send(http.MethodPost, "/auth/login", map[string]string{"email": "ann@example.com", "password": "password123"}); a.Status != http.StatusUnauthorized {
		t.Errorf("the purged backend's end user signs in to the new %s (on %s): %d %s", b.Name, again.Node, a.Status, a.Body)
	}
	p.MustStatus(http.StatusAccepted, p.Send(http.MethodDelete, "/api/backends/"+b.Name+"?purge=true", nil))
	p.WaitGone(b.Name, 5*time.Minute)
	return []string{fmt.Sprintf("purge while its node was down: waited for the node, done %s after the node's engine started; 0 volumes left on the worker; the name's next backend (on %s) starts empty",
		purged.Round(10*time.Millisecond), again.Node)}
}
