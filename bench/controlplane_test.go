package main

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestWelcomeWatcher(t *testing.T) {
	found := make(chan string, 1)
	w := &welcomeWatcher{found: found}
	// The welcome arrives in pieces that split lines.
	for _, piece := range []string{"Backpack (dev) is running\n  admin API:  http://admin.local", "host:41234/api   (also http://localhost:41234)\n  backends: …\n"} {
		if _, err := w.Write([]byte(piece)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case port := <-found:
		if port != "41234" {
			t.Errorf("port %q, want 41234", port)
		}
	default:
		t.Fatal("no port found in the welcome")
	}
}

// TestControlPlaneScenario runs the scenario with tiny counts against a real `backpack dev`
// and checks that it measured something of every kind.
func TestControlPlaneScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode: skipping the test that builds and runs the backpack binary")
	}
	cfg := controlPlaneConfig{createSamples: 2, memorySteps: []int{0, 2}, listBackends: 3,
		listRequests: 10, listClients: 2, listDuration: 300 * time.Millisecond, idle: 100 * time.Millisecond, progress: t.Output()}
	r := runControlPlane(t.Context(), cfg)
	if r.failed != nil {
		t.Fatalf("scenario failed: %v", r.failed)
	}
	if r.create.requests != 2 || r.create.errors != 0 || r.create.p50 <= 0 {
		t.Errorf("create → first answer: %+v, want 2 timed creations without errors", r.create)
	}
	if r.listed != 3 || r.listSeq.requests != 10 || r.listSeq.errors != 0 || r.listSeq.p50 <= 0 {
		t.Errorf("sequential listing of %d backends: %+v, want 10 requests of 3 backends without errors", r.listed, r.listSeq)
	}
	if r.listConc.requests == 0 || r.listConc.errors != 0 || r.listConc.perSecond <= 0 {
		t.Errorf("concurrent listing: %+v, want requests without errors", r.listConc)
	}
	if runtime.GOOS == "linux" {
		if len(r.memory) != 3 || r.memory[0].backends != 0 || r.memory[1].backends != 2 || r.memory[2].backends != 3 {
			t.Errorf("memory points %+v, want 0, 2 and 3 backends", r.memory)
		}
		for _, m := range r.memory {
			if m.rss <= 0 {
				t.Errorf("memory with %d backends: %d bytes", m.backends, m.rss)
			}
		}
	}
	var out strings.Builder
	if err := printControlPlaneTables(&out, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"create → first API 2xx", "GET /api/backends", "VmRSS"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
