package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/platformtest"
	"github.com/backpackhq/backpack/internal/swarmtest"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	dockerswarm "github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"
)

// The environment of the crash trials: how many (TestChaosCrashTrials; TestPlatformOnSwarm
// runs a few) and the seed of their random moments, printed by every run so that a failing
// one can be repeated.
const (
	crashTrialsEnv = "BACKPACK_CHAOS_TRIALS"
	chaosSeedEnv   = "BACKPACK_CHAOS_SEED"
)

// crashKinds are the operations the control plane is killed in the middle of, in the order the
// trials take them.
var crashKinds = []string{"create", "rotate", "delete", "update"}

// chaosSeed is BACKPACK_CHAOS_SEED, or a new seed; either way it is logged with how to repeat
// the run.
func chaosSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(chaosSeedEnv); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want a number", chaosSeedEnv, v)
		}
		seed = s
	}
	t.Logf("seed %d (repeat with %s=%d)", seed, chaosSeedEnv, seed)
	return seed
}

// crashRun is a series of crash trials on one platform: the backends whose desired state is
// running, those purged, and the objects one backend has when nothing interrupted it.
type crashRun struct {
	t     *testing.T
	p     *platformtest.Platform
	rng   *rand.Rand
	live  map[string]*crashBackend
	gone  []string
	ref   map[string]int
	lines []string
	leaks int
}

// crashBackend is a backend the trials expect to run, with what its last answered change set.
type crashBackend struct {
	name string
	// schedule is the backup schedule a PATCH answered with, "" until one did.
	schedule string
	// key is the API key a rotation answered with, "" until one did.
	key string
}

// runCrashTrials runs trials crash trials on p and reports them; every trial that does not
// converge fails the test.
func runCrashTrials(t *testing.T, p *platformtest.Platform, trials int) {
	seed := chaosSeed(t)
	r := &crashRun{t: t, p: p, rng: rand.New(rand.NewPCG(seed, seed)), live: map[string]*crashBackend{}}
	before := engineCounts(t, p)
	// The reference: a backend made without interruption, whose objects every converged
	// backend must have, no more.
	ref := r.createQuietly()
	r.ref = stackCounts(t, p, ref)
	t.Logf("objects of an uninterrupted backend: %s", formatCounts(r.ref))
	converged := 0
	for i := range trials {
		if r.trial(i) {
			converged++
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.live)) {
		p.MustStatus(http.StatusAccepted, p.Send(http.MethodDelete, "/api/backends/"+name+"?purge=true", nil))
	}
	for name := range r.live {
		p.WaitGone(name, 4*time.Minute)
		r.gone = append(r.gone, name)
	}
	r.live = map[string]*crashBackend{}
	r.leaks += r.checkGone()
	after := engineCounts(t, p)
	for _, kind := range []string{"secret", "config", "network", "volume", "service"} {
		if after[kind] > before[kind] {
			t.Errorf("the engine has %d %ss after the trials and the purge of their backends, %d before", after[kind], kind, before[kind])
			r.leaks += after[kind] - before[kind]
		}
	}
	platformtest.Report(t, "crash trials (control plane killed with SIGKILL)", append([]string{
		fmt.Sprintf("converged %d/%d, leaks found %d, seed %d (%s=%d to repeat)", converged, trials, r.leaks, seed, chaosSeedEnv, seed),
		"objects of one backend: " + formatCounts(r.ref),
		"engine before: " + formatCounts(before) + "; after purging every backend: " + formatCounts(after),
	}, r.lines...)...)
}

// trial kills the control plane during the i-th operation, waits for its successor and checks
// that everything converged, then logs a line and says whether it did.
func (r *crashRun) trial(i int) bool {
	t, p := r.t, r.p
	kind := crashKinds[i%len(crashKinds)]
	failedBefore := t.Failed()
	start := time.Now()
	var what string
	switch kind {
	case "create":
		what = r.killDuringCreate()
	case "update":
		what = r.killDuringUpdate()
	case "rotate":
		what = r.killDuringRotate()
	case "delete":
		what = r.killDuringDelete()
	}
	killed := time.Now()
	p.WaitReady(3 * time.Minute)
	ready := time.Since(killed)
	started, healthy := r.successor(killed)
	leaks := r.converge(killed)
	r.leaks += leaks
	ok := leaks == 0 && (failedBefore || !t.Failed())
	line := fmt.Sprintf("trial %2d %-6s %s; control plane started %4.1fs, healthy %4.1fs, ready through Traefik %4.1fs after the kill; converged %t in %5.1fs; objects of live backends %s; leaks %d",
		i+1, kind, what, started.Seconds(), healthy.Seconds(), ready.Seconds(), ok, time.Since(start).Seconds(), formatCounts(r.liveCounts()), leaks)
	r.lines = append(r.lines, line)
	t.Log(line)
	return ok
}

// successor says when the control plane's running container started and when its health
// check first passed, after killed: how much of the time until it answered through Traefik was
// its own restart.
func (r *crashRun) successor(killed time.Time) (started, healthy time.Duration) {
	ctx := context.Background()
	list, err := r.p.Cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", "com.docker.swarm.service.name="+platformtest.Stack+"_controlplane"), filters.Arg("status", "running"))})
	if err != nil || len(list) != 1 {
		r.t.Errorf("the control plane's running container: %d of them (%v)", len(list), err)
		return 0, 0
	}
	c, err := r.p.Cli.ContainerInspect(ctx, list[0].ID)
	if err != nil {
		r.t.Errorf("inspect the control plane's container: %v", err)
		return 0, 0
	}
	if at, err := time.Parse(time.RFC3339Nano, c.State.StartedAt); err == nil {
		started = at.Sub(killed)
	}
	if c.State.Health != nil {
		for _, h := range c.State.Health.Log {
			if h.ExitCode == 0 {
				healthy = h.End.Sub(killed)
				break
			}
		}
	}
	return started, healthy
}

// createQuietly makes a backend without interruption and adds it to the live ones.
func (r *crashRun) createQuietly() string {
	name := platformtest.UniqueName("crash")
	r.p.Create(name)
	r.live[name] = &crashBackend{name: name}
	return name
}

// pick is a live backend (one is made first if none is), chosen by the seeded generator.
func (r *crashRun) pick() *crashBackend {
	if len(r.live) == 0 {
		r.createQuietly()
	}
	names := slices.Sorted(maps.Keys(r.live))
	return r.live[names[r.rng.IntN(len(names))]]
}

// delay is a random moment from 0 to upTo.
func (r *crashRun) delay(upTo time.Duration) time.Duration {
	return time.Duration(r.rng.Int64N(int64(upTo)))
}

func (r *crashRun) killDuringCreate() string {
	name := platformtest.UniqueName("crash")
	r.p.Ask(name)
	r.live[name] = &crashBackend{name: name}
	d := r.delay(20 * time.Second)
	time.Sleep(d)
	killControlPlane(r.t, r.p)
	return fmt.Sprintf("%s killed %4.1fs after the create was accepted", name, d.Seconds())
}

func (r *crashRun) killDuringDelete() string {
	b := r.pick()
	r.p.MustStatus(http.StatusAccepted, r.p.Send(http.MethodDelete, "/api/backends/"+b.name+"?purge=true", nil))
	delete(r.live, b.name)
	r.gone = append(r.gone, b.name)
	d := r.delay(10 * time.Second)
	time.Sleep(d)
	killControlPlane(r.t, r.p)
	return fmt.Sprintf("%s killed %4.1fs after the purge was accepted", b.name, d.Seconds())
}

// killDuringUpdate sends a change of the backup settings and kills the control plane while
// it may be in flight: answered, the change must have stuck.
func (r *crashRun) killDuringUpdate() string {
	b := r.pick()
	schedule := []string{"hourly", "daily", "off"}[r.rng.IntN(3)]
	body, _ := json.Marshal(map[string]any{"backups": map[string]any{"schedule": schedule, "keep": 1 + r.rng.IntN(10)}})
	// Answered within about 35 ms here: most kills land while it is in flight.
	d := r.delay(50 * time.Millisecond)
	a := r.sendWhileKilled(http.MethodPatch, "/api/backends/"+b.name, body, d)
	if a.status == http.StatusOK {
		b.schedule = schedule
	}
	return fmt.Sprintf("%s killed %3dms into PATCH backups %s (%s)", b.name, d.Milliseconds(), schedule, a)
}

// killDuringRotate rotates the API key and kills the control plane while the rotation may be
// in flight: answered, the new key must be the one the control plane gives.
func (r *crashRun) killDuringRotate() string {
	b := r.pick()
	// Answered within about 70 ms here: most kills land while it is in flight.
	d := r.delay(100 * time.Millisecond)
	a := r.sendWhileKilled(http.MethodPost, "/api/backends/"+b.name+"/api-key", nil, d)
	if a.status == http.StatusOK {
		var out struct {
			APIKey string `json:"apiKey"`
		}
		if err := json.Unmarshal(a.body, &out); err != nil || out.APIKey == "" {
			r.t.Errorf("rotation of %s answered %s", b.name, a)
		}
		b.key = out.APIKey
	}
	return fmt.Sprintf("%s killed %3dms into the API-key rotation (%s)", b.name, d.Milliseconds(), a)
}

// crashAnswer is how a request cut by the kill ended: its status, or the error that ended it.
type crashAnswer struct {
	status int
	body   []byte
	err    error
}

func (a crashAnswer) String() string {
	if a.err != nil {
		return "no answer: " + a.err.Error()
	}
	return "answered " + strconv.Itoa(a.status)
}

// sendWhileKilled sends a request to the control plane and kills it after d, whether or not
// the request was answered by then, and returns how the request ended.
func (r *crashRun) sendWhileKilled(method, path string, body []byte, d time.Duration) crashAnswer {
	done := make(chan crashAnswer, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, method, r.p.Admin+path, bytes.NewReader(body))
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("X-CSRF-Token", r.p.CSRF)
		resp, err := r.p.HTTP.Do(req)
		if err != nil {
			done <- crashAnswer{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- crashAnswer{status: resp.StatusCode, body: b}
	}()
	time.Sleep(d)
	killControlPlane(r.t, r.p)
	return <-done
}

// converge waits for every backend to reach its desired state and checks it there: a live
// backend runs with exactly its four services, the objects of an uninterrupted backend, the
// settings and API key its answered changes gave it, and a key the API accepts; a purged one is
// gone with everything it had. It returns the leaks found (objects beyond the reference).
func (r *crashRun) converge(killed time.Time) int {
	t, p := r.t, r.p
	leaks := 0
	for _, name := range slices.Sorted(maps.Keys(r.live)) {
		b := r.live[name]
		got, ok := r.waitRunning(name, 5*time.Minute)
		if !ok {
			continue
		}
		svcs := services(t, p, name)
		slices.Sort(svcs)
		if want := []string{name + "_api", name + "_mongo", name + "_redis", name + "_web"}; !slices.Equal(svcs, want) {
			t.Errorf("%s: services %v, want %v", name, svcs, want)
		}
		if b.schedule != "" && got.Backups.Schedule != b.schedule {
			t.Errorf("%s: backup schedule %q, but the PATCH answered %q", name, got.Backups.Schedule, b.schedule)
		}
		if b.key != "" && got.APIKey != b.key {
			t.Errorf("%s: the control plane gives another API key than its rotation answered", name)
		}
		// Past the previous key's overlap (10 s), a key the backend no longer has is refused.
		time.Sleep(time.Until(killed.Add(12 * time.Second)))
		r.checkKey(name)
		leaks += r.waitObjects(name, r.ref, 2*time.Minute)
	}
	return leaks + r.checkGone()
}

// checkGone checks that every purged backend is unknown to the control plane and left no
// object, waiting up to a few minutes for a purge under way; it returns the objects left.
func (r *crashRun) checkGone() int {
	leaks := 0
	for _, name := range r.gone {
		deadline := time.Now().Add(4 * time.Minute)
		for time.Now().Before(deadline) {
			if _, status := r.p.Backend(name); status == http.StatusNotFound && len(swarmtest.StackObjects(r.t, r.p.Cli, name)) == 0 {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if b, status := r.p.Backend(name); status != http.StatusNotFound {
			r.t.Errorf("purged backend %s is still listed: %+v", name, b)
		}
		if left := swarmtest.StackObjects(r.t, r.p.Cli, name); len(left) > 0 {
			r.t.Errorf("purged backend %s left %v", name, left)
			leaks += len(left)
		}
	}
	r.gone = nil
	return leaks
}

// crashBackendView is what the trials read of GET /api/backends/NAME.
type crashBackendView struct {
	platformtest.Backend
	Backups struct {
		Schedule string `json:"schedule"`
	} `json:"backups"`
}

// waitRunning polls the backend until it runs, failing the test (not stopping it) if it does
// not within the bound.
func (r *crashRun) waitRunning(name string, within time.Duration) (crashBackendView, bool) {
	deadline := time.Now().Add(within)
	var b crashBackendView
	for time.Now().Before(deadline) {
		a := r.p.Send(http.MethodGet, "/api/backends/"+name, nil)
		if a.Status == http.StatusOK {
			b = crashBackendView{}
			a.Decode(&b)
			if b.State == "running" {
				return b, true
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	r.t.Errorf("%s is %q (last error %q), not running, %s after the restart", name, b.State, b.LastError, within)
	return b, false
}

// checkKey fails the test unless the backend's API comes to accept the key the control plane
// gives, through Traefik: GET /auth/me without a session is refused for want of one (401 not
// signed in), not for the key. The key is read again each time: a rotation the kill
// interrupted changes it when the control plane completes it (about 20 s after it began).
func (r *crashRun) checkKey(name string) {
	deadline := time.Now().Add(2 * time.Minute)
	c := r.p.Client(nil)
	var last string
	for time.Now().Before(deadline) {
		var b crashBackendView
		if a := r.p.Send(http.MethodGet, "/api/backends/"+name, nil); a.Status == http.StatusOK {
			a.Decode(&b)
		}
		key := b.APIKey
		req, _ := http.NewRequest(http.MethodGet, r.p.APIURL(name)+"/auth/me", nil)
		req.Header.Set("X-API-Key", key)
		req.Header.Set("Origin", r.p.SiteURL(name))
		resp, err := c.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = fmt.Sprintf("%d %s", resp.StatusCode, snippet(body))
			if resp.StatusCode == http.StatusUnauthorized && !bytes.Contains(body, []byte("invalid_api_key")) {
				return
			}
		} else {
			last = err.Error()
		}
		time.Sleep(500 * time.Millisecond)
	}
	r.t.Errorf("%s: the API does not accept the key the control plane gives: %s", name, last)
}

// waitObjects waits until the backend has no more objects of any kind than want (a rolled
// service's earlier secrets go once its old task has), and returns how many it still has
// beyond want.
func (r *crashRun) waitObjects(name string, want map[string]int, within time.Duration) int {
	deadline := time.Now().Add(within)
	for {
		got := stackCounts(r.t, r.p, name)
		extra := 0
		for kind, n := range got {
			extra += max(0, n-want[kind])
		}
		if extra == 0 {
			return 0
		}
		if time.Now().After(deadline) {
			r.t.Errorf("%s has %s, an uninterrupted backend %s: %v", name, formatCounts(got), formatCounts(want),
				swarmtest.StackObjects(r.t, r.p.Cli, name))
			return extra
		}
		time.Sleep(time.Second)
	}
}

// liveCounts adds up the objects of the live backends by kind.
func (r *crashRun) liveCounts() map[string]int {
	total := map[string]int{}
	for name := range r.live {
		for kind, n := range stackCounts(r.t, r.p, name) {
			total[kind] += n
		}
	}
	return total
}

// stackCounts counts a stack's objects by kind, containers left out (a rolling service has
// two for a moment).
func stackCounts(t testing.TB, p *platformtest.Platform, name string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, o := range swarmtest.StackObjects(t, p.Cli, name) {
		if kind, _, _ := strings.Cut(o, " "); kind != "container" {
			counts[kind]++
		}
	}
	return counts
}

// engineCounts counts every secret, config, network, volume and service on the engine,
// labelled or not: what a removal could leave without a stack's label.
func engineCounts(t testing.TB, p *platformtest.Platform) map[string]int {
	t.Helper()
	ctx := context.Background()
	secrets, err1 := p.Cli.SecretList(ctx, dockerswarm.SecretListOptions{})
	configs, err2 := p.Cli.ConfigList(ctx, dockerswarm.ConfigListOptions{})
	networks, err3 := p.Cli.NetworkList(ctx, network.ListOptions{})
	vols, err4 := p.Cli.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs()})
	svcs, err5 := p.Cli.ServiceList(ctx, dockerswarm.ServiceListOptions{})
	for _, err := range []error{err1, err2, err3, err4, err5} {
		if err != nil {
			t.Fatalf("count the engine's objects: %v", err)
		}
	}
	return map[string]int{"secret": len(secrets), "config": len(configs), "network": len(networks),
		"volume": len(vols.Volumes), "service": len(svcs)}
}

// formatCounts prints counts by kind in a fixed order: "services 4, secrets 2, …".
func formatCounts(c map[string]int) string {
	var parts []string
	for _, kind := range slices.Sorted(maps.Keys(c)) {
		parts = append(parts, fmt.Sprintf("%ss %d", kind, c[kind]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// shortCrashTrials is how many trials TestPlatformOnSwarm runs: one create, one rotation and
// one delete, within a few minutes.
const shortCrashTrials = 3
