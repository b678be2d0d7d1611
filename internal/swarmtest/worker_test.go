//go:build cluster

package swarmtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/swarmtest"
)

// The worker harness itself: the second engine joins under its own host name with the images
// it was given, and a stopped engine is a node down that comes back when started again.
func TestWorkerJoinsAndReturns(t *testing.T) {
	cli := swarmtest.Engine(t)
	swarmtest.RequireImages(t, cli, swarmtest.APIImage)
	start := time.Now()
	w := swarmtest.StartWorker(t, cli, swarmtest.APIImage)
	t.Logf("worker joined and loaded in %s", time.Since(start).Round(10*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	node, _, err := cli.NodeInspectWithRaw(ctx, w.NodeID)
	if err != nil {
		t.Fatal(err)
	}
	if node.Description.Hostname != swarmtest.WorkerHostname || node.Status.Addr != swarmtest.WorkerAddr {
		t.Fatalf("worker node is %s at %s, want %s at %s", node.Description.Hostname, node.Status.Addr, swarmtest.WorkerHostname, swarmtest.WorkerAddr)
	}
	if _, err := w.Engine.ImageInspect(ctx, swarmtest.APIImage); err != nil {
		t.Fatalf("image on the worker: %v", err)
	}
	if err := w.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	if err := w.WaitDown(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("node down %s after its engine stopped", time.Since(stopped).Round(10*time.Millisecond))
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
}
