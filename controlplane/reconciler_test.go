package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/backpackhq/backpack/controlplane/runtime"
)

// faultyRuntime is the real local runtime with faults injected into Apply: it fails the first
// failures calls, or blocks until its context ends while gate is set.
type faultyRuntime struct {
	runtime.Runtime
	failures atomic.Int64
	calls    atomic.Int64
	gate     bool
	entered  chan struct{}
	once     sync.Once
	// removing, when set, holds every Remove until it is closed.
	removing chan struct{}
	// failNode is the node an injected failure says the backend was placed on; specNodes
	// records the node every Apply was asked for.
	failNode  string
	mu        sync.Mutex
	specNodes []string
	// purgeFailures is how many purges fail as a purge on a node that is down does.
	purgeFailures atomic.Int64
}

func (f *faultyRuntime) Remove(ctx context.Context, name, node string, purge bool, progress runtime.Progress) error {
	if f.removing != nil {
		select {
		case <-f.removing:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if purge && f.purgeFailures.Add(-1) >= 0 {
		return fmt.Errorf("volumes of %s stay on node beta, which is down: the purge finishes when it returns", name)
	}
	return f.Runtime.Remove(ctx, name, node, purge, progress)
}

func (f *faultyRuntime) Apply(ctx context.Context, spec runtime.Spec, progress runtime.Progress) (string, error) {
	n := f.calls.Add(1)
	f.mu.Lock()
	f.specNodes = append(f.specNodes, spec.Node)
	f.mu.Unlock()
	if f.gate {
		f.once.Do(func() { close(f.entered) })
		progress("half-way through, about to be interrupted")
		<-ctx.Done()
		return "", ctx.Err()
	}
	if f.failures.Add(-1) >= 0 {
		return f.failNode, fmt.Errorf("injected failure %d", n)
	}
	return f.Runtime.Apply(ctx, spec, progress)
}

func TestApplyFailsTwiceThenSucceeds(t *testing.T) {
	faulty := &faultyRuntime{}
	faulty.failures.Store(2)
	p := newTestPlane(t, withRuntime(func(rt runtime.Runtime) runtime.Runtime { faulty.Runtime = rt; return faulty }))
	d := p.developer()
	d.mustStatus(http.StatusAccepted, d.post("/api/backends", map[string]any{"name": "flaky"}))
	events := d.events("flaky")
	var errorsSeen []string
	for _, e := range events {
		if e.Kind == "error" {
			errorsSeen = append(errorsSeen, e.Message)
			if e.State != "creating" {
				t.Errorf("after %d failures the state is %s; it shows failed only from the third", len(errorsSeen), e.State)
			}
		}
	}
	if len(errorsSeen) != 2 || !strings.Contains(errorsSeen[0], "injected failure 1") || !strings.Contains(errorsSeen[1], "retrying in") {
		t.Fatalf("error events = %q", errorsSeen)
	}
	if last := events[len(events)-1]; last.State != "running" {
		t.Fatalf("last event = %+v", last)
	}
	b := d.get("/api/backends/flaky").backend()
	if b.State != "running" || b.LastError != "" || faulty.calls.Load() != 3 {
		t.Fatalf("backend = %+v after %d applies", b, faulty.calls.Load())
	}
}

func TestApplyKeepsFailingThenRecovers(t *testing.T) {
	faulty := &faultyRuntime{}
	faulty.failures.Store(1 << 30)
	p := newTestPlane(t, withRuntime(func(rt runtime.Runtime) runtime.Runtime { faulty.Runtime = rt; return faulty }))
	d := p.developer()
	d.mustStatus(http.StatusAccepted, d.post("/api/backends", map[string]any{"name": "broken"}))
	events := d.events("broken")
	last := events[len(events)-1]
	if last.State != "failed" || last.Kind != "error" || !strings.Contains(last.Message, "injected failure") {
		t.Fatalf("the stream should settle on failed with the cause; last = %+v", last)
	}
	b := d.get("/api/backends/broken").backend()
	if b.State != "failed" || !strings.Contains(b.LastError, "injected failure") {
		t.Fatalf("backend = %+v", b)
	}
	// The cause goes away: retries go on, and the backend comes up without anyone acting.
	faulty.failures.Store(0)
	d.waitState("broken", "running")
	if b := d.get("/api/backends/broken").backend(); b.LastError != "" {
		t.Fatalf("lastError kept after recovery: %+v", b)
	}
}

func TestCreateInterruptedByCrashResumesOnRestart(t *testing.T) {
	faulty := &faultyRuntime{gate: true, entered: make(chan struct{})}
	p := newTestPlane(t, withRuntime(func(rt runtime.Runtime) runtime.Runtime { faulty.Runtime = rt; return faulty }))
	d := p.developer()
	d.mustStatus(http.StatusAccepted, d.post("/api/backends", map[string]any{"name": "crashy"}))
	<-faulty.entered
	// The process stops in the middle of the create; the next one runs the real runtime.
	p.wrap = nil
	p.restart()
	d.p = p
	d.waitState("crashy", "running")

	var list struct{ Backends []backendJSON }
	d.mustStatus(http.StatusOK, d.get("/api/backends")).decode(&list)
	if len(list.Backends) != 1 || list.Backends[0].Name != "crashy" {
		t.Fatalf("backends after the crash = %+v", list.Backends)
	}
	events := d.events("crashy")
	first, last := events[0], events[len(events)-1]
	if first.Operation != last.Operation || last.State != "running" ||
		!strings.Contains(eventsText(events), "about to be interrupted") {
		t.Fatalf("one operation should span both processes: %+v", events)
	}
	b := d.get("/api/backends/crashy").backend()
	u := p.endUser("crashy", b.APIKey)
	u.mustStatus(http.StatusCreated, u.send(http.MethodPost, "/auth/register", map[string]any{"email": "x@example.com", "password": "password123"}))
}

func eventsText(events []eventJSON) string {
	var sb strings.Builder
	for _, e := range events {
		sb.WriteString(e.Message + "\n")
	}
	return sb.String()
}

func TestDeleteWhileCreating(t *testing.T) {
	faulty := &faultyRuntime{removing: make(chan struct{})}
	faulty.failures.Store(1 << 30)
	p := newTestPlane(t, withRuntime(func(rt runtime.Runtime) runtime.Runtime { faulty.Runtime = rt; return faulty }))
	d := p.developer()
	d.mustStatus(http.StatusAccepted, d.post("/api/backends", map[string]any{"name": "gone"}))
	d.mustStatus(http.StatusAccepted, d.delete("/api/backends/gone?purge=true"))
	// A second delete without purge, while the purge is held up, must not turn it into
	// keep-data.
	if b := d.mustStatus(http.StatusAccepted, d.delete("/api/backends/gone")).backend(); b.State != "deleting" {
		t.Fatalf("second delete = %+v", b)
	}
	close(faulty.removing)
	waitFor(t, "the purged backend to disappear", func() bool { return d.get("/api/backends/gone").status == http.StatusNotFound })
	if _, err := p.local.Status(context.Background(), "gone"); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("runtime still has the backend: %v", err)
	}
}

func TestBackendThatVanishesIsDegradedThenRepaired(t *testing.T) {
	p := newTestPlane(t)
	d := p.developer()
	d.createBackend("fragile")
	// Something outside the control plane stops the backend.
	if err := p.local.Remove(context.Background(), "fragile", "", false, func(string) {}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the backend to be seen degraded and repaired", func() bool {
		text := eventsText(d.events("fragile"))
		return strings.Contains(text, "degraded: ") && strings.Contains(text, "running again")
	})
	if st := d.get("/api/backends/fragile").backend().State; st != "running" {
		t.Fatalf("state after repair = %s", st)
	}
}

// statusOverride is the real local runtime whose Status can be replaced, as a swarm's would
// read while its tasks stop one after the other.
type statusOverride struct {
	runtime.Runtime
	status atomic.Pointer[runtime.Status]
}

func (o *statusOverride) Status(ctx context.Context, name string) (runtime.Status, error) {
	if st := o.status.Load(); st != nil {
		return *st, nil
	}
	return o.Runtime.Status(ctx, name)
}

func TestDegradedMessageFollowsThePresentCounts(t *testing.T) {
	o := &statusOverride{}
	p := newTestPlane(t, withRuntime(func(rt runtime.Runtime) runtime.Runtime { o.Runtime = rt; return o }))
	d := p.developer()
	d.createBackend("wobbly")
	counts := func(api, mongo int) *runtime.Status {
		return &runtime.Status{Services: []runtime.ServiceStatus{
			{Name: "api", Running: api, Desired: 1}, {Name: "mongo", Running: mongo, Desired: 1}}}
	}
	lastError := func(want string) {
		t.Helper()
		waitFor(t, "lastError "+want, func() bool { return strings.HasPrefix(d.get("/api/backends/wobbly").backend().LastError, want) })
	}
	// First failure: every task still runs but the API does not answer; then the tasks stop.
	o.status.Store(counts(1, 1))
	d.waitState("wobbly", "degraded")
	lastError("api 1/1, mongo 1/1")
	o.status.Store(counts(0, 0))
	lastError("api 0/1, mongo 0/1")
	o.status.Store(counts(0, 1))
	lastError("api 0/1, mongo 1/1")
	if b := d.get("/api/backends/wobbly").backend(); b.State != "degraded" {
		t.Fatalf("state = %s", b.State)
	}
	text := eventsText(d.events("wobbly"))
	t.Logf("events:\n%s", text)
	if !strings.Contains(text, "still degraded: api 0/1, mongo 0/1") {
		t.Fatalf("no event with the new counts:\n%s", text)
	}
	o.status.Store(nil)
	d.waitState("wobbly", "running")
	if b := d.get("/api/backends/wobbly").backend(); b.LastError != "" {
		t.Fatalf("lastError once running again = %q", b.LastError)
	}
}

// TestDescribe: the line a backend's state shows leads with a cause the runtime found for all
// its services (its node is down), instead of each service's error or the API's readiness.
func TestDescribe(t *testing.T) {
	down := "node beta is down"
	for _, tc := range []struct {
		st   runtime.Status
		want string
	}{
		{runtime.Status{Services: []runtime.ServiceStatus{{Name: "api", Running: 0, Desired: 1, LastError: "readiness check: EOF"}, {Name: "mongo", Running: 1, Desired: 1}}},
			"api 0/1 (readiness check: EOF), mongo 1/1; waiting for the API to be ready"},
		{runtime.Status{Reason: down, Services: []runtime.ServiceStatus{{Name: "api", Desired: 1, LastError: down}, {Name: "mongo", Desired: 1, LastError: down}}},
			"node beta is down: api 0/1, mongo 0/1"},
		{runtime.Status{Ready: true, Services: []runtime.ServiceStatus{{Name: "api", Running: 2, Desired: 2}}}, "api 2/2"},
	} {
		if got := describe(tc.st, nil); got != tc.want {
			t.Errorf("describe = %q, want %q", got, tc.want)
		}
	}
}

// TestFailedApplyKeepsItsNode: an apply that placed the backend but failed stores the node, so
// the next attempt (and a purge) goes where its data may already be.
func TestFailedApplyKeepsItsNode(t *testing.T) {
	faulty := &faultyRuntime{failNode: "local"}
	faulty.failures.Store(1)
	p := newTestPlane(t, withRuntime(func(rt runtime.Runtime) runtime.Runtime { faulty.Runtime = rt; return faulty }))
	d := p.developer()
	d.mustStatus(http.StatusAccepted, d.post("/api/backends", map[string]any{"name": "placed"}))
	d.events("placed")
	faulty.mu.Lock()
	defer faulty.mu.Unlock()
	if len(faulty.specNodes) != 2 || faulty.specNodes[0] != "" || faulty.specNodes[1] != "local" {
		t.Errorf("applies asked for nodes %q, want a choice, then the node the failed attempt placed it on", faulty.specNodes)
	}
}

// TestFailedPurgeKeepsTheName: while a purge cannot remove the volumes (their node is down),
// the backend stays deleting with the reason, nobody can take its name (a new backend of it
// would attach the volumes), and the purge is retried until it succeeds.
func TestFailedPurgeKeepsTheName(t *testing.T) {
	faulty := &faultyRuntime{}
	faulty.purgeFailures.Store(1 << 30)
	p := newTestPlane(t, withRuntime(func(rt runtime.Runtime) runtime.Runtime { faulty.Runtime = rt; return faulty }))
	owner, other := p.developer(), p.developer()
	owner.createBackend("tenant")
	owner.mustStatus(http.StatusAccepted, owner.delete("/api/backends/tenant?purge=true"))
	waitFor(t, "the purge to fail twice", func() bool { return faulty.purgeFailures.Load() < 1<<30-1 })
	b := owner.mustStatus(http.StatusOK, owner.get("/api/backends/tenant")).backend()
	if b.State != "deleting" || !strings.Contains(b.LastError, "which is down") {
		t.Fatalf("backend during a failing purge = %+v", b)
	}
	other.mustStatus(http.StatusConflict, other.post("/api/backends", map[string]any{"name": "tenant"}))
	owner.mustStatus(http.StatusConflict, owner.post("/api/backends", map[string]any{"name": "tenant"}))

	faulty.purgeFailures.Store(0) // the node is back
	waitFor(t, "the purge to finish", func() bool { return owner.get("/api/backends/tenant").status == http.StatusNotFound })
	other.createBackend("tenant")
}
