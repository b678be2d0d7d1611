package controlplane

import (
	"context"
	"net/http"
	"regexp"
	"sync"
	"testing"

	"github.com/backpackhq/backpack/controlplane/runtime"
)

// specRecorder keeps the last spec the reconciler applied to each backend, on the real local
// runtime it wraps.
type specRecorder struct {
	runtime.Runtime
	mu    sync.Mutex
	specs map[string]runtime.Spec
}

func (r *specRecorder) Apply(ctx context.Context, spec runtime.Spec, progress runtime.Progress) (string, error) {
	r.mu.Lock()
	r.specs[spec.Name] = spec
	r.mu.Unlock()
	return r.Runtime.Apply(ctx, spec, progress)
}

func (r *specRecorder) volumes(name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.specs[name].Volumes
}

// TestVolumesIncarnation: every new backend gets volume names of its own (NAME_ and a random
// part), kept when it is deleted keeping its data and created again, and replaced when the
// name is purged and taken again: a backend can never attach volumes of an earlier backend of
// its name that a purge could not reach.
func TestVolumesIncarnation(t *testing.T) {
	rec := &specRecorder{specs: map[string]runtime.Spec{}}
	p := newTestPlane(t, withRuntime(func(rt runtime.Runtime) runtime.Runtime { rec.Runtime = rt; return rec }))
	d := p.developer()
	d.createBackend("shop")
	first := rec.volumes("shop")
	if !regexp.MustCompile(`^shop_[0-9a-f]{8}$`).MatchString(first) {
		t.Fatalf("volumes of a new backend: %q, want shop_ and 8 hex digits", first)
	}

	d.mustStatus(http.StatusAccepted, d.delete("/api/backends/shop"))
	d.waitState("shop", "deleted")
	d.createBackend("shop")
	if again := rec.volumes("shop"); again != first {
		t.Fatalf("re-created keeping its data, the backend has volumes %q, want its own %q", again, first)
	}

	d.mustStatus(http.StatusAccepted, d.delete("/api/backends/shop?purge=true"))
	waitFor(t, "the purged backend to disappear", func() bool { return d.get("/api/backends/shop").status == http.StatusNotFound })
	d.createBackend("shop")
	if next := rec.volumes("shop"); next == first || next == "" {
		t.Fatalf("a new backend under a purged one's name has volumes %q, the purged one had %q", next, first)
	}
}
