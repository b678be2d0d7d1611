package swarm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"maps"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/controlplane/runtime"
	"github.com/backpackhq/backpack/controlplane/runtime/swarm/convert"
	"github.com/backpackhq/backpack/internal/swarmtest"
	"github.com/backpackhq/backpack/stacktemplates"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
)

// engineRuntime is a swarm runtime on the local engine with the offline test images, reaching
// admin ports through a probe on backpack_admin (the test process is not on that network).
func engineRuntime(t *testing.T, mutate func(*Config)) (*Runtime, *client.Client) {
	t.Helper()
	cli := swarmtest.Engine(t)
	swarmtest.RequireImages(t, cli, swarmtest.StackImages()...)
	ctx := context.Background()
	for _, n := range []struct {
		name     string
		internal bool
	}{{PublicNetwork, false}, {AdminNetwork, true}} {
		if err := swarmtest.EnsureNetwork(ctx, cli, n.name, n.internal); err != nil {
			t.Fatal(err)
		}
	}
	admin := swarmtest.StartProbe(t, cli, AdminNetwork)
	cfg := Config{
		Engine: cli, Domain: "localhost", AdminClient: admin.HTTPClient(),
		API: stacktemplates.Service{Image: swarmtest.APIImage}, Mongo: stacktemplates.Service{Image: swarmtest.MongoImage},
		Redis: stacktemplates.Service{Image: swarmtest.RedisImage}, Web: stacktemplates.Service{Image: swarmtest.WebImage},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	rt, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rt, cli
}

func uniqueName(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func testSpec(name string) runtime.Spec {
	return runtime.Spec{Name: name, APIKey: "key-" + name + "-0123456789abcdef", AdminToken: "admin-" + name + "-0123456789abcdef",
		CORSOrigins: []string{"http://" + name + ".localhost"}}
}

// waitStatus polls Status until ok accepts it.
func waitStatus(t *testing.T, rt *Runtime, name string, within time.Duration, ok func(runtime.Status) bool) runtime.Status {
	t.Helper()
	deadline := time.Now().Add(within)
	var st runtime.Status
	var err error
	for time.Now().Before(deadline) {
		st, err = rt.Status(context.Background(), name)
		if err == nil && ok(st) {
			return st
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("%s: status not reached within %s: %+v, %v", name, within, st, err)
	return st
}

// removeAfter tears the stack down with its data when the test ends, whatever happened.
func removeAfter(t *testing.T, rt *Runtime, name string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if err := rt.Remove(ctx, name, "", true, func(string) {}); err != nil {
			t.Errorf("cleanup of %s: %v", name, err)
		}
	})
}

// apiRequest sends a request to the api service the way Traefik forwards it: to the task on
// backpack_public, port 3000, with the public host name.
func apiRequest(t *testing.T, c *http.Client, name, method, path, apiKey, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+name+"_api:3000"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = name + "-be.localhost"
	req.Header.Set("X-API-Key", apiKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestStackLifecycle runs a backend's whole life on the real swarm: apply, ready, apply again
// changing nothing, requests as Traefik sends them, isolation of the admin port and the data
// services, logs, removal keeping data, re-creation with the data back, and a purge that leaves
// nothing behind.
func TestStackLifecycle(t *testing.T) {
	rt, cli := engineRuntime(t, nil)
	ctx := context.Background()
	name := uniqueName(t, "life")
	removeAfter(t, rt, name)
	spec := testSpec(name)

	var steps []string
	node, err := rt.Apply(ctx, spec, func(m string) { steps = append(steps, m) })
	if err != nil {
		t.Fatal(err)
	}
	if node == "" || len(steps) == 0 {
		t.Fatalf("node %q, progress %v", node, steps)
	}
	st := waitStatus(t, rt, name, 3*time.Minute, func(s runtime.Status) bool { return s.Ready })
	if len(st.Services) != 4 {
		t.Fatalf("services %+v", st.Services)
	}
	for _, s := range st.Services {
		if s.Running != 1 || s.Desired != 1 || s.Node == "" {
			t.Errorf("service %+v", s)
		}
	}

	// Applying the same spec again changes nothing: no progress, no new service version.
	before := serviceVersions(t, cli, name)
	steps = nil
	spec.Node = node
	if again, err := rt.Apply(ctx, spec, func(m string) { steps = append(steps, m) }); err != nil || again != node {
		t.Fatalf("second apply: %q, %v", again, err)
	}
	if len(steps) != 0 {
		t.Errorf("second apply did something: %v", steps)
	}
	if after := serviceVersions(t, cli, name); !maps.Equal(before, after) {
		t.Errorf("service versions changed by an idempotent apply: %v → %v", before, after)
	}

	// From backpack_public, as Traefik: the API answers, an end user registers.
	public := swarmtest.StartProbe(t, cli, PublicNetwork)
	pc := public.HTTPClient()
	if code, body := apiRequest(t, pc, name, http.MethodPost, "/auth/register", spec.APIKey, `{"email":"ann@example.com","password":"a long password"}`); code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("register: %d %s", code, body)
	}
	if code, body := apiRequest(t, pc, name, http.MethodGet, "/auth/me", "wrong-key", ""); code != http.StatusUnauthorized {
		t.Errorf("wrong key: %d %s", code, body)
	}
	// ... and nothing private is reachable from there.
	for _, addr := range []string{name + "-admin:3001", name + "_api:3001", name + "_mongo:27017", name + "_redis:6379", "mongo:27017", "redis:6379"} {
		err := public.Reachable(ctx, addr)
		var unreachable *swarmtest.UnreachableError
		if !errors.As(err, &unreachable) {
			t.Errorf("%s from backpack_public: %v, want unreachable", addr, err)
		}
	}

	// Logs come from the service logs API.
	var logs strings.Builder
	if err := rt.Logs(ctx, name, runtime.LogOptions{Service: "api", Tail: 50}, &logs); err != nil || !strings.Contains(logs.String(), "/auth/register") {
		t.Errorf("api logs: %v\n%s", err, logs.String())
	}
	if err := rt.Logs(ctx, name, runtime.LogOptions{Service: "nope"}, io.Discard); !errors.Is(err, runtime.ErrUnknownService) {
		t.Errorf("unknown service logs: %v", err)
	}

	// Removed keeping data: the services go, the volumes stay; applied again, the user is back.
	if err := rt.Remove(ctx, name, "", false, func(string) {}); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Status(ctx, name); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("status after remove: %v", err)
	}
	for _, l := range swarmtest.StackObjects(t, cli, name) {
		if !strings.HasPrefix(l, "volume ") {
			t.Errorf("left after remove keeping data: %s", l)
		}
	}
	if _, err := rt.Apply(ctx, spec, func(string) {}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, rt, name, 3*time.Minute, func(s runtime.Status) bool { return s.Ready })
	if code, body := apiRequest(t, pc, name, http.MethodPost, "/auth/login", spec.APIKey, `{"email":"ann@example.com","password":"a long password"}`); code != http.StatusOK {
		t.Fatalf("login after re-create: %d %s", code, body)
	}

	// Purged: nothing of it remains.
	if err := rt.Remove(ctx, name, "", true, func(string) {}); err != nil {
		t.Fatal(err)
	}
	if left := swarmtest.StackObjects(t, cli, name); len(left) > 0 {
		t.Errorf("left after purge: %v", left)
	}
}

// TestMissingImageFails: a stack whose image does not exist is reported as failing, with the
// engine's error, instead of converging for ever.
func TestMissingImageFails(t *testing.T) {
	rt, _ := engineRuntime(t, func(c *Config) { c.API.Image = "backpack-test/does-not-exist:1" })
	name := uniqueName(t, "noimg")
	removeAfter(t, rt, name)
	if _, err := rt.Apply(context.Background(), testSpec(name), func(string) {}); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, rt, name, 2*time.Minute, func(s runtime.Status) bool { return s.Failure != "" })
	if !strings.Contains(st.Failure, "api") || !strings.Contains(strings.ToLower(st.Failure), "no such image") {
		t.Errorf("failure = %q", st.Failure)
	}
	if st.Ready {
		t.Error("a failing backend is ready")
	}
}

// TestSecretRotation: new secret data is deployed under the next version and the old one goes;
// then `docker stack rm` removes the stack.
func TestSecretRotation(t *testing.T) {
	rt, cli := engineRuntime(t, nil)
	ctx := context.Background()
	name := uniqueName(t, "rot")
	removeAfter(t, rt, name)
	spec := testSpec(name)
	node, err := rt.Apply(ctx, spec, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	spec.Node = node
	spec.APIKey = "rotated-" + spec.APIKey
	if _, err := rt.Apply(ctx, spec, func(string) {}); err != nil {
		t.Fatal(err)
	}
	api := inspectService(t, cli, name+"_api")
	var names []string
	for _, s := range api.Spec.TaskTemplate.ContainerSpec.Secrets {
		names = append(names, s.SecretName)
	}
	if strings.Join(names, ",") != name+"_admin_token_v2,"+name+"_api_key_v2" {
		t.Errorf("api secrets after rotation: %v", names)
	}
	waitStatus(t, rt, name, 3*time.Minute, func(s runtime.Status) bool { return s.Ready })
	if _, err := rt.Apply(ctx, spec, func(string) {}); err != nil { // removes v1 once unused
		t.Fatal(err)
	}
	secrets, err := cli.SecretList(ctx, swarm.SecretListOptions{Filters: namespaceFilter(name)})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if strings.HasSuffix(s.Spec.Name, "_v1") {
			t.Errorf("old secret %s still there", s.Spec.Name)
		}
	}

	// The operator's `docker stack rm` removes what the runtime made, like any stack (the
	// volumes stay, as with docker stack rm; the cleanup purges them).
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker CLI to check docker stack rm with")
	}
	if out, err := exec.Command("docker", "stack", "rm", name).CombinedOutput(); err != nil {
		t.Fatalf("docker stack rm: %v\n%s", err, out)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var rest []string
		for _, l := range swarmtest.StackObjects(t, cli, name) {
			if !strings.HasPrefix(l, "volume ") {
				rest = append(rest, l)
			}
		}
		if len(rest) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("left after docker stack rm: %v", rest)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func inspectService(t *testing.T, cli *client.Client, name string) swarm.Service {
	t.Helper()
	s, _, err := cli.ServiceInspectWithRaw(context.Background(), name, swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func serviceVersions(t *testing.T, cli *client.Client, name string) map[string]uint64 {
	t.Helper()
	services, err := cli.ServiceList(context.Background(), swarm.ServiceListOptions{Filters: namespaceFilter(name)})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, s := range services {
		out[s.Spec.Name] = s.Version.Index
		if s.Spec.Labels[convert.LabelNamespace] != name {
			t.Errorf("service %s labels %v", s.Spec.Name, s.Spec.Labels)
		}
	}
	return out
}

// TestPlacementSurvivesARejoin: a node that lost its label (as a node that left and re-joined
// the swarm does) gets it back from its host name when a backend placed on it is applied; a
// backend whose node is gone gets an error saying how to fix it.
func TestPlacementSurvivesARejoin(t *testing.T) {
	rt, cli := engineRuntime(t, nil)
	ctx := context.Background()
	self := selfNode(t, cli)
	value := labelValue(self)
	spec := self.Spec
	spec.Labels = withoutLabel(spec.Labels, stacktemplates.NodeLabel)
	if err := cli.NodeUpdate(ctx, self.ID, self.Version, spec); err != nil {
		t.Fatal(err)
	}
	got, err := rt.place(ctx, "rejoin", value)
	if err != nil || got != value {
		t.Fatalf("place = %q, %v; want %q", got, err, value)
	}
	after, _, err := cli.NodeInspectWithRaw(ctx, self.ID)
	if err != nil || after.Spec.Labels[stacktemplates.NodeLabel] != value {
		t.Fatalf("node labels after place = %v, %v", after.Spec.Labels, err)
	}
	if _, err := rt.place(ctx, "lost", "node-that-left"); err == nil || !strings.Contains(err.Error(), "docker node update --label-add backpack.node=node-that-left") {
		t.Errorf("placing on a vanished node: %v", err)
	}
}

// TestConcurrentPlacement: new backends placed at the same moment all get a node, each reserved
// until its Apply is over.
func TestConcurrentPlacement(t *testing.T) {
	rt, _ := engineRuntime(t, nil)
	names := []string{uniqueName(t, "pla"), uniqueName(t, "plb"), uniqueName(t, "plc")}
	errs := make(chan error, len(names))
	for _, name := range names {
		go func() {
			_, err := rt.place(context.Background(), name, "")
			errs <- err
		}()
	}
	for range names {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	for _, name := range names {
		if rt.reserved[name] == "" {
			t.Errorf("%s placed but not reserved: %v", name, rt.reserved)
		}
		rt.unreserve(name)
	}
	if len(rt.reserved) != 0 {
		t.Errorf("reservations left: %v", rt.reserved)
	}
}

// TestPurgeByJob takes the path of a backend on another node on the one-node swarm: the
// volumes are removed by the purge job through the node's own engine, a purge job an earlier,
// interrupted attempt left is removed first, and nothing of the stack is left anywhere.
func TestPurgeByJob(t *testing.T) {
	rt, cli := engineRuntime(t, nil)
	rt.purgeByJob = true
	ctx := context.Background()
	self := selfNode(t, cli)
	name := uniqueName(t, "purge")
	removeAfter(t, rt, name)
	spec := testSpec(name)
	spec.Node = labelValue(self) // this node, even when another one has joined the swarm
	node, err := rt.Apply(ctx, spec, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, rt, name, 3*time.Minute, func(s runtime.Status) bool { return s.Ready })
	vols, err := cli.VolumeList(ctx, volume.ListOptions{Filters: namespaceFilter(name)})
	if err != nil || len(vols.Volumes) == 0 {
		t.Fatalf("volumes of a running stack: %d, %v", len(vols.Volumes), err)
	}

	// An attempt interrupted while its job ran left that job: one still waiting for the
	// volumes the running stack holds.
	leftover := purgeJob(name, node, rt.APIImage())
	leftover.TaskTemplate.ContainerSpec.Args = []string{"purge-volumes", "--in-use-wait", "10m", name}
	if _, err := cli.ServiceCreate(ctx, leftover, swarm.ServiceCreateOptions{}); err != nil {
		t.Fatal(err)
	}

	var steps []string
	if err := rt.Remove(ctx, name, node, true, func(m string) { steps = append(steps, m) }); err != nil {
		t.Fatalf("remove: %v\nsteps: %v", err, steps)
	}
	all := strings.Join(steps, "\n")
	for _, want := range []string{"service " + name + "_purge removed", "purging the volumes of " + name + " on node " + node,
		"volumes of " + name + " removed on node " + node} {
		if !strings.Contains(all, want) {
			t.Errorf("no step %q in:\n%s", want, all)
		}
	}
	if strings.Contains(all, "volume "+name+"_") {
		t.Errorf("volumes removed through the manager's engine, not by the job:\n%s", all)
	}
	// The job's container goes with its service, shortly after.
	deadline := time.Now().Add(time.Minute)
	for {
		left := swarmtest.StackObjects(t, cli, name)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("left after a purge by job: %v", left)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestPurgeOnANodeThatLeft: a purge whose volumes are on a node the swarm no longer has (the
// operator removed it for good) is done, and says what is left where.
func TestPurgeOnANodeThatLeft(t *testing.T) {
	rt, _ := engineRuntime(t, nil)
	name := uniqueName(t, "left")
	var said []string
	if err := rt.Remove(context.Background(), name, "node-that-left", true, func(m string) { said = append(said, m) }); err != nil {
		t.Errorf("purge on a node that left: %v", err)
	}
	if !slices.ContainsFunc(said, func(m string) bool { return strings.Contains(m, "node node-that-left is no longer in the swarm") }) {
		t.Errorf("the purge did not say where the volumes went: %q", said)
	}
	if err := rt.Remove(context.Background(), name, "node-that-left", false, func(string) {}); err != nil {
		t.Errorf("remove keeping the data needs no node: %v", err)
	}
}

// selfNode is the swarm node of the engine the tests talk to.
func selfNode(t *testing.T, cli *client.Client) swarm.Node {
	t.Helper()
	ctx := context.Background()
	info, err := cli.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	self, _, err := cli.NodeInspectWithRaw(ctx, info.Swarm.NodeID)
	if err != nil {
		t.Fatal(err)
	}
	return self
}
