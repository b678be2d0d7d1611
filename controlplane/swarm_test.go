package controlplane

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/controlplane/runtime"
	"github.com/backpackhq/backpack/controlplane/runtime/swarm"
	"github.com/backpackhq/backpack/internal/swarmtest"
	"github.com/backpackhq/backpack/stacktemplates"
)

// TestSwarmMissingImageFails: on a real swarm, a backend whose API image does not exist ends
// `failed` with the engine's task error in its events and lastError, rather than hanging in
// `creating`. (The whole journey on Swarm, with the control plane itself deployed as a
// service, is tested in deploy/.)
func TestSwarmMissingImageFails(t *testing.T) {
	cli := swarmtest.Engine(t)
	swarmtest.RequireImages(t, cli, swarmtest.MongoImage, swarmtest.RedisImage, swarmtest.WebImage)
	ctx := context.Background()
	name := "noimage-" + strings.ReplaceAll(time.Now().Format("150405.000"), ".", "")
	rt, err := swarm.New(ctx, swarm.Config{
		Engine: cli, Domain: "localhost",
		API:   stacktemplates.Service{Image: "backpack-test/does-not-exist:1"},
		Mongo: stacktemplates.Service{Image: swarmtest.MongoImage}, Redis: stacktemplates.Service{Image: swarmtest.RedisImage},
		Web: stacktemplates.Service{Image: swarmtest.WebImage},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Registered before the plane so that it runs after the plane stopped reconciling.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if err := rt.Remove(ctx, name, "", true, func(string) {}); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	p := newTestPlane(t, withRuntime(func(runtime.Runtime) runtime.Runtime { return rt }),
		withConfig(func(c *Config) { c.ReadyTimeout = 3 * time.Minute }))
	d := p.developer()
	d.mustStatus(http.StatusAccepted, d.post("/api/backends", map[string]any{"name": name}))

	deadline := time.Now().Add(2 * time.Minute)
	var b backendJSON
	for time.Now().Before(deadline) {
		b = d.mustStatus(http.StatusOK, d.get("/api/backends/"+name)).backend()
		if b.State == "failed" {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if b.State != "failed" || !strings.Contains(strings.ToLower(b.LastError), "no such image") {
		t.Fatalf("backend after a missing image: state %q, lastError %q", b.State, b.LastError)
	}
	sawTaskError := false
	for _, e := range d.events(name) {
		if e.Kind == "error" && strings.Contains(strings.ToLower(e.Message), "no such image") {
			sawTaskError = true
		}
	}
	if !sawTaskError {
		t.Error("no error event carries the task error")
	}
}
