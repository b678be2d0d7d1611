package controlplane

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backpackhq/backpack/controlplane/runtime"
)

// releasedRuntime is the real local runtime as a runtime of images: it has a release (an API
// image the test changes, as a restart with a new BACKPACK_API_IMAGE does), reports a service
// update when a backend's image or replicas change (as the swarm runtime does), and holds
// applies of the image in gate until the test lets them through.
type releasedRuntime struct {
	runtime.Runtime
	mu       sync.Mutex
	image    string
	gate     string
	open     chan struct{}
	ran      map[string]string // backend → "image×replicas" last applied
	inFlight int
	most     int // the most applies in flight at once
}

func (r *releasedRuntime) APIImage() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.image
}

func (r *releasedRuntime) release(image string, gated bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.image = image
	if gated {
		r.gate, r.open = image, make(chan struct{})
	}
}

func (r *releasedRuntime) Apply(ctx context.Context, spec runtime.Spec, progress runtime.Progress) (string, error) {
	r.mu.Lock()
	image, open := r.image, r.open
	gated := image == r.gate
	r.inFlight++
	r.most = max(r.most, r.inFlight)
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.inFlight--
		r.mu.Unlock()
	}()
	if gated {
		select {
		case <-open:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	node, err := r.Runtime.Apply(ctx, spec, progress)
	if err != nil {
		return node, err
	}
	now := fmt.Sprintf("%s×%d", image, max(spec.APIReplicas, 1))
	r.mu.Lock()
	before := r.ran[spec.Name]
	r.ran[spec.Name] = now
	r.mu.Unlock()
	if before != "" && before != now {
		progress("service " + spec.Name + "_api updated")
	}
	return node, nil
}

func (r *releasedRuntime) ranNow(name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ran[name]
}

func newReleasedPlane(t *testing.T) (*testPlane, *releasedRuntime) {
	rr := &releasedRuntime{image: "backpack-api:v1", ran: map[string]string{}}
	p := newTestPlane(t, withRuntime(func(rt runtime.Runtime) runtime.Runtime { rr.Runtime = rt; return rr }),
		withConfig(func(c *Config) { c.MaxAPIReplicas = 4 }))
	return p, rr
}

// waitBackend polls the backend until ok says it is as wanted.
func (d *dev) waitBackend(name, what string, ok func(backendJSON) bool) backendJSON {
	d.p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var b backendJSON
	for time.Now().Before(deadline) {
		b = d.mustStatus(http.StatusOK, d.get("/api/backends/"+name)).backend()
		if ok(b) {
			return b
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.p.t.Fatalf("backend %s: never %s: %+v", name, what, b)
	return b
}

func eventMessages(events []eventJSON) string {
	var b strings.Builder
	for _, e := range events {
		fmt.Fprintf(&b, "%s: %s\n", e.Kind, e.Message)
	}
	return b.String()
}

// TestAPIReplicas: PATCH {"replicas": {"api": N}} is stored, shown, applied by the reconciler
// with the steps in the backend's events, and refused outside 1..MaxAPIReplicas.
func TestAPIReplicas(t *testing.T) {
	p, rr := newReleasedPlane(t)
	d := p.developer()
	b := d.createBackend("shop")
	if b.Replicas.API != 1 || b.APIImage != "backpack-api:v1" || b.Upgrading {
		t.Fatalf("new backend: replicas %d, apiImage %q, upgrading %v", b.Replicas.API, b.APIImage, b.Upgrading)
	}
	var got backendDetailJSON
	d.mustStatus(http.StatusOK, d.patch("/api/backends/shop", map[string]any{"replicas": map[string]any{"api": 3}})).decode(&got)
	if got.Replicas.API != 3 || got.APIKey == "" {
		t.Fatalf("PATCH answered %+v", got)
	}
	d.waitBackend("shop", "applied with 3 replicas", func(backendJSON) bool { return rr.ranNow("shop") == "backpack-api:v1×3" })
	d.waitState("shop", "running")
	msgs := ""
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(msgs, "running: 3 API replicas of backpack-api:v1") {
		msgs = eventMessages(d.events("shop"))
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{"API replicas set to 3 by " + d.email, "updating to 3 API replicas", "service shop_api updated", "running: 3 API replicas of backpack-api:v1"} {
		if !strings.Contains(msgs, want) {
			t.Errorf("events lack %q:\n%s", want, msgs)
		}
	}
	// The listing shows them too, and the backups settings are untouched.
	var list struct {
		Backends []backendJSON `json:"backends"`
		APIImage string        `json:"apiImage"`
	}
	d.mustStatus(http.StatusOK, d.get("/api/backends")).decode(&list)
	if len(list.Backends) != 1 || list.Backends[0].Replicas.API != 3 || list.APIImage != "backpack-api:v1" {
		t.Errorf("listing %+v", list)
	}
	// Both parts at once; the same count again changes nothing and records nothing.
	d.mustStatus(http.StatusOK, d.patch("/api/backends/shop", map[string]any{"replicas": map[string]any{"api": 3}, "backups": map[string]any{"keep": 4}})).decode(&got)
	if got.Replicas.API != 3 || got.Backups.Keep != 4 {
		t.Errorf("PATCH of both answered %+v", got)
	}
	if n := strings.Count(eventMessages(d.events("shop")), "API replicas set to"); n != 1 {
		t.Errorf("%d replica changes recorded, want 1", n)
	}

	for _, c := range []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"zero", map[string]any{"replicas": map[string]any{"api": 0}}, 400, "invalid_input"},
		{"negative", map[string]any{"replicas": map[string]any{"api": -2}}, 400, "invalid_input"},
		{"above the operator's maximum", map[string]any{"replicas": map[string]any{"api": 5}}, 400, "invalid_input"},
		{"no api", map[string]any{"replicas": map[string]any{}}, 400, "invalid_input"},
		{"null api", map[string]any{"replicas": map[string]any{"api": nil}}, 400, "invalid_input"},
		{"a string", map[string]any{"replicas": map[string]any{"api": "2"}}, 400, "invalid_json"},
		{"a fraction", map[string]any{"replicas": map[string]any{"api": 1.5}}, 400, "invalid_json"},
		{"another service", map[string]any{"replicas": map[string]any{"mongo": 2}}, 400, "invalid_json"},
		{"a bad part with a good one", map[string]any{"replicas": map[string]any{"api": 9}, "backups": map[string]any{"keep": 2}}, 400, "invalid_input"},
	} {
		e := d.patch("/api/backends/shop", c.body).expectError(c.status, c.code)
		if c.code == "invalid_input" && e.Details["field"] != "replicas.api" {
			t.Errorf("%s: details %v, want the field replicas.api", c.name, e.Details)
		}
		if c.name == "above the operator's maximum" && !strings.Contains(e.Message, "1 to 4") {
			t.Errorf("%s: message %q does not say the range", c.name, e.Message)
		}
	}
	if b := d.mustStatus(http.StatusOK, d.get("/api/backends/shop")).backend(); b.Replicas.API != 3 {
		t.Errorf("refused changes left replicas at %d", b.Replicas.API)
	}
	if got := d.mustStatus(http.StatusOK, d.get("/api/backends/shop")); strings.Contains(string(got.body), `"keep":2`) {
		t.Error("a refused PATCH stored its valid part")
	}
	other := p.developer()
	other.patch("/api/backends/shop", map[string]any{"replicas": map[string]any{"api": 2}}).expectError(404, "backend_not_found")
	d.mustStatus(http.StatusOK, d.patch("/api/backends/shop", map[string]any{"replicas": map[string]any{"api": 1}}))
	d.waitBackend("shop", "applied with 1 replica", func(backendJSON) bool { return rr.ranNow("shop") == "backpack-api:v1×1" })
}

// TestFleetRelease: a new release (the runtime's API image changes, as when the control plane
// restarts with a new BACKPACK_API_IMAGE) rolls every running backend, a bounded number at a
// time; the listing shows which backends run it, live, and each backend's events say so.
func TestFleetRelease(t *testing.T) {
	p, rr := newReleasedPlane(t)
	d := p.developer()
	names := []string{"fleet1", "fleet2", "fleet3", "fleet4", "fleet5", "fleet6"}
	for _, n := range names {
		d.mustStatus(http.StatusAccepted, d.post("/api/backends", map[string]any{"name": n}))
	}
	for _, n := range names {
		d.waitBackend(n, "running v1", func(b backendJSON) bool { return b.State == "running" && b.APIImage == "backpack-api:v1" })
	}
	rr.release("backpack-api:v2", true)
	for _, n := range names {
		b := d.mustStatus(http.StatusOK, d.get("/api/backends/"+n)).backend()
		if !b.Upgrading || b.APIImage != "backpack-api:v1" {
			t.Errorf("%s before the roll: upgrading %v, apiImage %q", n, b.Upgrading, b.APIImage)
		}
	}
	close(rr.open)
	for _, n := range names {
		d.waitBackend(n, "running v2", func(b backendJSON) bool {
			return b.State == "running" && b.APIImage == "backpack-api:v2" && !b.Upgrading
		})
	}
	rr.mu.Lock()
	most := rr.most
	rr.mu.Unlock()
	t.Logf("at most %d backends applied at once", most)
	if most > maxParallelOperations {
		t.Errorf("%d backends were applied at once, more than %d", most, maxParallelOperations)
	}
	msgs := eventMessages(d.events("fleet3"))
	for _, want := range []string{"updating the API from backpack-api:v1 to backpack-api:v2", "service fleet3_api updated", "running: 1 API replica of backpack-api:v2"} {
		if !strings.Contains(msgs, want) {
			t.Errorf("events of fleet3 lack %q:\n%s", want, msgs)
		}
	}
}
