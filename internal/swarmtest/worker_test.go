//go:build cluster

package swarmtest_test

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
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
	// What the worker runs finds the worker's engine at /var/run/docker.sock, as on a machine
	// of its own (a purge job mounts that path).
	pid, err := os.ReadFile(swarmtest.WorkerPIDFile)
	if err != nil {
		t.Fatal(err)
	}
	inside, err := exec.Command("nsenter", "--target", strings.TrimSpace(string(pid)), "--mount", "stat", "-L", "-c", "%i", "/var/run/docker.sock").Output()
	if err != nil {
		t.Fatalf("the worker's /var/run/docker.sock: %v", err)
	}
	var own syscall.Stat_t
	if err := syscall.Stat(swarmtest.WorkerSocket, &own); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(inside)) != strconv.FormatUint(own.Ino, 10) {
		t.Fatalf("/var/run/docker.sock in the worker's namespace is inode %s, its engine's socket %d", inside, own.Ino)
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
