package swarmtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
)

// The second node's place on this machine, as scripts/cluster-net.sh makes it: a network
// namespace joined to the host by a veth pair, the worker's end at WorkerAddr.
const (
	WorkerNetns    = "bpnode1"
	WorkerAddr     = "100.64.213.2"
	WorkerHostname = "bpnode1"
	workerRoot     = "/var/lib/backpack-" + WorkerNetns
	workerRun      = "/run/backpack-" + WorkerNetns
	// WorkerSocket is the worker engine's socket as the host sees it; in the engine's own
	// mount namespace it is also /var/run/docker.sock.
	WorkerSocket = workerRun + "/docker.sock"
	// WorkerPIDFile holds the worker's dockerd process id while it runs.
	WorkerPIDFile = workerRun + "/dockerd.pid"
)

// Worker is a second Docker engine on this machine, a worker of the local swarm: multi-node
// behaviour (placement, a purge on another node, a node lost and back) is tested for real
// without a second machine. Its dockerd runs in the network namespace scripts/cluster-net.sh
// makes, under its own host name, data root and socket; its state is thrown away at the
// test's end.
type Worker struct {
	// Engine is the worker's own Docker Engine: the volumes and containers of what runs there.
	Engine *client.Client
	// NodeID is the worker's node in the swarm.
	NodeID  string
	manager *client.Client
	t       testing.TB
	dockerd *exec.Cmd
	exited  chan struct{}
	log     string
}

// StartWorker starts the second engine, joins it to the manager's swarm as a worker, loads
// images into it from the manager's engine (no registry here) and waits until the swarm sees
// it ready. Everything goes at the test's end: the node leaves, the engine stops, its data
// root is removed. Without root or the namespace it applies testenv's rule for what is missing.
func StartWorker(t testing.TB, manager *client.Client, images ...string) *Worker {
	t.Helper()
	if os.Geteuid() != 0 {
		missing(t, "root, to run a second Docker engine as a swarm worker", "run the multi-node tests as root (make test-cluster)")
	}
	if _, err := os.Stat("/var/run/netns/" + WorkerNetns); err != nil {
		missing(t, "network namespace "+WorkerNetns+" for the second node", "sudo bash scripts/test-env.sh (it runs scripts/cluster-net.sh)")
	}
	for _, tool := range []string{"dockerd", "nsenter", "unshare"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing(t, tool+" for the second node", "sudo bash scripts/test-env.sh")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	managerAddr, err := reachableManager(ctx, manager)
	if err != nil {
		missing(t, err.Error(), "make the swarm again: docker swarm leave --force && sudo bash scripts/test-env.sh")
	}
	removeStaleWorkers(ctx, t, manager)
	stopStaleDockerd()
	if err := os.RemoveAll(workerRoot); err != nil {
		t.Fatalf("remove the last worker's data root: %v", err)
	}
	if err := os.MkdirAll(workerRun, 0o700); err != nil {
		t.Fatalf("worker run directory: %v", err)
	}
	w := &Worker{manager: manager, t: t, log: filepath.Join(workerRun, "dockerd.log")}
	t.Cleanup(w.remove)
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := manager.SwarmInspect(ctx)
	if err != nil {
		t.Fatalf("swarm join token: %v", err)
	}
	err = w.Engine.SwarmJoin(ctx, swarm.JoinRequest{
		ListenAddr:    WorkerAddr + ":2377",
		AdvertiseAddr: WorkerAddr,
		RemoteAddrs:   []string{managerAddr},
		JoinToken:     info.JoinTokens.Worker,
	})
	if err != nil {
		t.Fatalf("join the worker to the swarm at %s: %v\n%s", managerAddr, err, w.logTail())
	}
	winfo, err := w.Engine.Info(ctx)
	if err != nil {
		t.Fatalf("worker engine info: %v", err)
	}
	w.NodeID = winfo.Swarm.NodeID
	if err := w.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if err := copyImages(ctx, manager, w.Engine, images); err != nil {
		t.Fatal(err)
	}
	return w
}

// reachableManager is the address the manager advertises to joining nodes, refused when it is
// a loopback address, which a node in another namespace would take for itself.
func reachableManager(ctx context.Context, manager *client.Client) (string, error) {
	info, err := manager.Info(ctx)
	if err != nil {
		return "", fmt.Errorf("manager engine info: %w", err)
	}
	for _, m := range info.Swarm.RemoteManagers {
		if m.NodeID == info.Swarm.NodeID {
			if strings.HasPrefix(m.Addr, "127.") {
				return "", fmt.Errorf("a swarm manager another node can reach (this one advertises %s)", m.Addr)
			}
			return m.Addr, nil
		}
	}
	return "", fmt.Errorf("a swarm manager: this engine (node %s) is not among the swarm's managers", info.Swarm.NodeID)
}

// removeStaleWorkers removes nodes an interrupted run left in the swarm under the worker's
// host name: a node that never returns stays listed as down.
func removeStaleWorkers(ctx context.Context, t testing.TB, manager *client.Client) {
	nodes, err := manager.NodeList(ctx, swarm.NodeListOptions{Filters: filters.NewArgs(filters.Arg("role", "worker"))})
	if err != nil {
		t.Fatalf("list swarm nodes: %v", err)
	}
	for _, n := range nodes {
		if n.Description.Hostname == WorkerHostname {
			if err := manager.NodeRemove(ctx, n.ID, swarm.NodeRemoveOptions{Force: true}); err != nil {
				t.Fatalf("remove the last run's worker node %s: %v", n.ID, err)
			}
		}
	}
}

// stopStaleDockerd ends a worker engine an interrupted run left running.
func stopStaleDockerd() {
	pid, err := os.ReadFile(WorkerPIDFile)
	if err != nil {
		return
	}
	var n int
	if _, err := fmt.Sscan(string(pid), &n); err != nil || n <= 1 {
		return
	}
	if syscall.Kill(n, syscall.SIGTERM) != nil {
		return
	}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if syscall.Kill(n, 0) != nil {
			return
		}
	}
	_ = syscall.Kill(n, syscall.SIGKILL)
}

// Start starts the worker's engine (again, after Stop: the node then returns to the swarm by
// itself) and waits until it answers on its socket.
func (w *Worker) Start(ctx context.Context) error {
	logFile, err := os.OpenFile(w.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("worker dockerd log: %w", err)
	}
	defer logFile.Close()
	// nsenter --net, not ip netns exec, which remounts /sys and hides the cgroup mounts;
	// unshare --uts gives the node its own host name, which the swarm shows and places by;
	// unshare --mount (private) lets the engine be /var/run/docker.sock for what it runs, as
	// on a machine of its own (a backend's purge job mounts that path): once the engine
	// listens on its socket, the socket is bound over /var/run/docker.sock in its namespace
	// only. The shell passes SIGTERM on to dockerd and waits for it.
	script := `hostname ` + WorkerHostname + ` || exit 1
dockerd --data-root ` + workerRoot + ` --exec-root ` + workerRun + `/exec --pidfile ` + WorkerPIDFile + ` \
  -H unix://` + WorkerSocket + ` --bridge=none --cgroup-parent=/backpack-` + WorkerNetns + ` &
pid=$!
trap 'kill -TERM $pid' TERM INT
i=0
until [ -S ` + WorkerSocket + ` ]; do
  kill -0 $pid 2>/dev/null || exit 1
  i=$((i+1)); [ $i -gt 600 ] && exit 1
  sleep 0.1
done
mount --bind ` + WorkerSocket + ` /var/run/docker.sock || { kill -TERM $pid; wait $pid; exit 1; }
wait $pid
wait $pid`
	cmd := exec.Command("nsenter", "--net=/var/run/netns/"+WorkerNetns, "unshare", "--uts", "--mount", "--propagation", "private", "--",
		"sh", "-c", script)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the worker's dockerd: %w", err)
	}
	w.dockerd, w.exited = cmd, make(chan struct{})
	go func(exited chan struct{}) { _ = cmd.Wait(); close(exited) }(w.exited)
	if w.Engine == nil {
		w.Engine, err = client.NewClientWithOpts(client.WithHost("unix://"+WorkerSocket), client.WithAPIVersionNegotiation())
		if err != nil {
			return fmt.Errorf("worker engine client: %w", err)
		}
	}
	for deadline := time.Now().Add(60 * time.Second); ; {
		if _, err := w.Engine.Ping(ctx); err == nil {
			return nil
		}
		select {
		case <-w.exited:
			return fmt.Errorf("the worker's dockerd exited at start:\n%s", w.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the worker's dockerd does not answer after 60 s:\n%s", w.logTail())
		}
	}
}

// Stop stops the worker's engine as an operator or a shutdown would (SIGTERM; its containers
// stop with it), for a node lost to the swarm; Start brings it back.
func (w *Worker) Stop(ctx context.Context) error {
	if w.dockerd == nil {
		return nil
	}
	_ = w.dockerd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.exited:
	case <-time.After(90 * time.Second):
		_ = w.dockerd.Process.Kill()
		<-w.exited
	case <-ctx.Done():
		return ctx.Err()
	}
	w.dockerd = nil
	return nil
}

// WaitReady waits until the manager sees the worker's node ready.
func (w *Worker) WaitReady(ctx context.Context) error {
	return w.waitState(ctx, swarm.NodeStateReady, 2*time.Minute)
}

// WaitDown waits until the manager sees the worker's node down.
func (w *Worker) WaitDown(ctx context.Context) error {
	return w.waitState(ctx, swarm.NodeStateDown, 2*time.Minute)
}

func (w *Worker) waitState(ctx context.Context, want swarm.NodeState, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		n, _, err := w.manager.NodeInspectWithRaw(ctx, w.NodeID)
		if err == nil && n.Status.State == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("worker node %s is not %s after %s (state %s, %v)", w.NodeID, want, limit, n.Status.State, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// remove takes the worker out of the swarm and off the machine.
func (w *Worker) remove() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if w.dockerd != nil {
		if err := w.Engine.SwarmLeave(ctx, true); err != nil {
			w.t.Logf("worker leaves the swarm: %v", err)
		}
	}
	if err := w.Stop(ctx); err != nil {
		w.t.Logf("stop the worker's dockerd: %v", err)
	}
	if w.NodeID != "" {
		if err := w.manager.NodeRemove(ctx, w.NodeID, swarm.NodeRemoveOptions{Force: true}); err != nil {
			w.t.Errorf("remove the worker node from the swarm: %v", err)
		}
	}
	if w.Engine != nil {
		_ = w.Engine.Close()
	}
	if err := os.RemoveAll(workerRoot); err != nil {
		w.t.Logf("remove the worker's data root: %v", err)
	}
}

// logTail is the end of the worker's dockerd log, for failures.
func (w *Worker) logTail() string {
	b, err := os.ReadFile(w.log)
	if err != nil {
		return err.Error()
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// copyImages saves images from one engine and loads them into another: no registry is
// reachable here, so a worker gets its images the way `docker save | docker load` would.
func copyImages(ctx context.Context, from, to *client.Client, images []string) error {
	if len(images) == 0 {
		return nil
	}
	tarball, err := from.ImageSave(ctx, images)
	if err != nil {
		return fmt.Errorf("save images %s: %w", strings.Join(images, ", "), err)
	}
	defer tarball.Close()
	loaded, err := to.ImageLoad(ctx, tarball)
	if err != nil {
		return fmt.Errorf("load images into the worker: %w", err)
	}
	defer loaded.Body.Close()
	out, err := io.ReadAll(loaded.Body)
	if err != nil {
		return fmt.Errorf("load images into the worker: %w", err)
	}
	if strings.Contains(string(out), `"error"`) {
		return errors.New("load images into the worker: " + string(out))
	}
	return nil
}
