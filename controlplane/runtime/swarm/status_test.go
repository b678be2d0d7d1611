package swarm

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/controlplane/runtime"
	"github.com/docker/docker/api/types/swarm"
)

func replicated(n uint64) swarm.ServiceMode {
	return swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &n}}
}

func task(service string, desired, state swarm.TaskState, at time.Time, errText string) swarm.Task {
	return swarm.Task{
		ServiceID: service, NodeID: "n1", DesiredState: desired,
		Meta:   swarm.Meta{CreatedAt: at},
		Status: swarm.TaskStatus{State: state, Timestamp: at, Err: errText},
	}
}

// TestServiceStatus: running counts only tasks that run and should, the node comes from them,
// and the last error shows only while the service is short of tasks.
func TestServiceStatus(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	svc := swarm.Service{ID: "s1", Spec: swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "shop_api"}, Mode: replicated(1)}}
	hosts := map[string]swarm.Node{"n1": {ID: "n1", Description: swarm.NodeDescription{Hostname: "node-one"}, Status: swarm.NodeStatus{State: swarm.NodeStateReady}}}
	cases := []struct {
		name    string
		tasks   []swarm.Task
		running int
		node    string
		lastErr string
	}{
		{"no tasks yet", nil, 0, "", ""},
		{"starting", []swarm.Task{task("s1", swarm.TaskStateRunning, swarm.TaskStatePreparing, t0, "")}, 0, "", ""},
		{"running", []swarm.Task{task("s1", swarm.TaskStateRunning, swarm.TaskStateRunning, t0, "")}, 1, "node-one", ""},
		{"rejected image", []swarm.Task{
			task("s1", swarm.TaskStateShutdown, swarm.TaskStateRejected, t0, "No such image: nope:1"),
			task("s1", swarm.TaskStateRunning, swarm.TaskStateRejected, t0.Add(5*time.Second), "No such image: nope:2"),
		}, 0, "", "No such image: nope:2"},
		{"old failure, now running", []swarm.Task{
			task("s1", swarm.TaskStateShutdown, swarm.TaskStateFailed, t0, "task: non-zero exit (137)"),
			task("s1", swarm.TaskStateRunning, swarm.TaskStateRunning, t0.Add(5*time.Second), ""),
		}, 1, "node-one", ""},
		{"another service's tasks", []swarm.Task{task("s2", swarm.TaskStateRunning, swarm.TaskStateRunning, t0, "")}, 0, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := serviceStatus("shop", svc, tc.tasks, hosts)
			if got.Name != "api" || got.Desired != 1 || got.Running != tc.running || got.Node != tc.node || got.LastError != tc.lastErr {
				t.Errorf("got %+v, want api 1 desired, %d running on %q, last error %q", got, tc.running, tc.node, tc.lastErr)
			}
		})
	}
}

// TestFailing: a service is failing after enough failed tasks of its current spec; failures
// from before its last update do not count.
func TestFailing(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	svc := swarm.Service{ID: "s1", Meta: swarm.Meta{UpdatedAt: t0}}
	rejected := func(at time.Duration) swarm.Task {
		return task("s1", swarm.TaskStateShutdown, swarm.TaskStateRejected, t0.Add(at), "No such image: nope")
	}
	if f := failing(svc, []swarm.Task{rejected(time.Second), rejected(2 * time.Second)}, 3); f != "" {
		t.Errorf("two failures: %q", f)
	}
	f := failing(svc, []swarm.Task{rejected(time.Second), rejected(2 * time.Second), rejected(3 * time.Second)}, 3)
	if !strings.Contains(f, "3 tasks failed") || !strings.Contains(f, "No such image: nope") {
		t.Errorf("three failures: %q", f)
	}
	if f := failing(svc, []swarm.Task{rejected(-time.Hour), rejected(-time.Hour), rejected(-time.Hour)}, 3); f != "" {
		t.Errorf("failures before the update: %q", f)
	}
}

// TestApplyRefusesBadNamesFirst: a name that is not a backend name is refused before any
// Docker call (the runtime here has no engine at all).
func TestApplyRefusesBadNamesFirst(t *testing.T) {
	rt := &Runtime{}
	for _, name := range []string{"", "Shop", "shop_api", "a b", "shop$(x)", "../x", strings.Repeat("a", 100)} {
		if _, err := rt.Apply(context.Background(), runtime.Spec{Name: name}, func(string) {}); err == nil {
			t.Errorf("Apply(%q) accepted", name)
		}
	}
}

// TestScaledServiceCountsItsTasks: after a service is scaled, the tasks it already ran are
// still of its present spec (their digest is the task template's, which scaling leaves
// alone); a task of an earlier template is not.
func TestScaledServiceCountsItsTasks(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	spec := func(image string, n uint64) swarm.ServiceSpec {
		s, err := withSpecDigest(swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "shop_api"}, Mode: replicated(n),
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: image}}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	of := func(s swarm.ServiceSpec) swarm.Task {
		tk := task("s1", swarm.TaskStateRunning, swarm.TaskStateRunning, t0, "")
		tk.Spec = s.TaskTemplate
		return tk
	}
	before, scaled, other := spec("api:1", 1), spec("api:1", 3), spec("api:2", 3)
	svc := swarm.Service{ID: "s1", Spec: scaled}
	got := serviceStatus("shop", svc, []swarm.Task{of(before), of(scaled), of(scaled), of(other)}, nil)
	if got.Desired != 3 || got.Running != 3 {
		t.Errorf("got %d of %d running, want the first task and the two new ones (3 of 3), not the other image's", got.Running, got.Desired)
	}
}

// TestNodeDown: a service pinned to a node that is down, drained or gone is explained by its
// node, named by its label value; one on a usable node, or pinned nowhere, is not.
func TestNodeDown(t *testing.T) {
	active := swarm.NodeAvailabilityActive
	svc := pinned("shop", "node.labels.backpack.node==beta")
	for name, tc := range map[string]struct {
		nodes []swarm.Node
		want  string
	}{
		"up":              {[]swarm.Node{node("1", "alpha", "alpha", true, active), node("2", "beta-host", "beta", true, active)}, ""},
		"down":            {[]swarm.Node{node("1", "alpha", "alpha", true, active), node("2", "beta-host", "beta", false, active)}, "node beta is down"},
		"drained":         {[]swarm.Node{node("2", "beta-host", "beta", true, swarm.NodeAvailabilityDrain)}, "node beta is down (availability drain)"},
		"gone":            {[]swarm.Node{node("1", "alpha", "alpha", true, active)}, "node beta is not in the swarm"},
		"re-joined, down": {[]swarm.Node{node("2", "beta-host", "beta", false, active), node("3", "beta-host", "beta", true, active)}, ""},
	} {
		if got := nodeDown(svc, tc.nodes); got != tc.want {
			t.Errorf("%s: nodeDown = %q, want %q", name, got, tc.want)
		}
	}
	if got := nodeDown(swarm.Service{}, nil); got != "" {
		t.Errorf("a service pinned nowhere: %q", got)
	}
}

// TestTasksOnADownNode: a task the swarm still lists as running on a node that is down does
// not count as running.
func TestTasksOnADownNode(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	svc := swarm.Service{ID: "s1", Spec: swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "shop_api"}, Mode: replicated(1)}}
	nodes := map[string]swarm.Node{"n1": node("n1", "beta-host", "beta", false, swarm.NodeAvailabilityActive)}
	got := serviceStatus("shop", svc, []swarm.Task{task("s1", swarm.TaskStateRunning, swarm.TaskStateRunning, t0, "")}, nodes)
	if got.Running != 0 || got.Node != "" {
		t.Errorf("got %+v, want nothing running", got)
	}
	nodes["n1"] = node("n1", "beta-host", "beta", true, swarm.NodeAvailabilityActive)
	if got := serviceStatus("shop", svc, []swarm.Task{task("s1", swarm.TaskStateRunning, swarm.TaskStateRunning, t0, "")}, nodes); got.Running != 1 || got.Node != "beta-host" {
		t.Errorf("node back: got %+v", got)
	}
}
