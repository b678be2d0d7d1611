package swarm

import (
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// TestJobOutcome: the purge job is done once a task completed, failed once more tasks failed
// than Swarm restarts, unschedulable once a task waited for a node too long.
func TestJobOutcome(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	at := func(state swarm.TaskState, d time.Duration, errText string) swarm.Task {
		return task("job", swarm.TaskStateComplete, state, t0.Add(d), errText)
	}
	for name, tc := range map[string]struct {
		tasks []swarm.Task
		want  outcome
	}{
		"no task yet":            {nil, outcome{}},
		"running":                {[]swarm.Task{at(swarm.TaskStateRunning, 0, "")}, outcome{}},
		"completed":              {[]swarm.Task{at(swarm.TaskStateComplete, 0, "")}, outcome{done: true}},
		"failed, then completed": {[]swarm.Task{at(swarm.TaskStateFailed, 0, "exit 1"), at(swarm.TaskStateComplete, time.Second, "")}, outcome{done: true}},
		"failed once, restarted": {[]swarm.Task{at(swarm.TaskStateFailed, 0, "exit 1"), at(swarm.TaskStatePending, time.Second, "")}, outcome{}},
		"failed twice": {[]swarm.Task{at(swarm.TaskStateFailed, 0, "task: non-zero exit (1)"), at(swarm.TaskStateRejected, time.Second, "No such image: api:2")},
			outcome{failed: "No such image: api:2"}},
		"pending without a node, briefly": {[]swarm.Task{at(swarm.TaskStatePending, time.Minute, "no suitable node")}, outcome{}},
		"pending without a node, long":    {[]swarm.Task{at(swarm.TaskStatePending, 0, "no suitable node")}, outcome{unschedulable: "no suitable node"}},
	} {
		if got := jobOutcome(tc.tasks, 1, t0.Add(30*time.Second)); got != tc.want {
			t.Errorf("%s: %+v, want %+v", name, got, tc.want)
		}
	}
}

// TestHoldersUp: the purge says which node keeps the volumes when it cannot run there.
func TestHoldersUp(t *testing.T) {
	active := swarm.NodeAvailabilityActive
	if err := holdersUp("shop", "beta", []swarm.Node{node("2", "beta", "beta", true, active)}); err != nil {
		t.Errorf("ready node: %v", err)
	}
	if err := holdersUp("shop", "beta", nil); err != nil {
		t.Errorf("no node labelled beta (it left the swarm): %v", err)
	}
	for _, tc := range []struct {
		holders []swarm.Node
		want    string
	}{
		{[]swarm.Node{node("2", "beta", "beta", false, active)}, "volumes of shop stay on node beta, which is down: the purge finishes when it returns"},
		{[]swarm.Node{node("2", "beta", "beta", true, swarm.NodeAvailabilityDrain)}, "volumes of shop stay on node beta, which is down"},
	} {
		if err := holdersUp("shop", "beta", tc.holders); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("holders %v: %v, want %q", tc.holders, err, tc.want)
		}
	}
}

// TestLiveTasks: Remove waits for tasks that have not finished, except on nodes that are
// down, where they finish only when the node is back.
func TestLiveTasks(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	on := func(nodeID string, state swarm.TaskState) swarm.Task {
		tk := task("s1", swarm.TaskStateRemove, state, t0, "")
		tk.NodeID = nodeID
		return tk
	}
	nodes := []swarm.Node{node("n1", "alpha", "alpha", true, swarm.NodeAvailabilityActive), node("n2", "beta", "beta", false, swarm.NodeAvailabilityActive)}
	tasks := []swarm.Task{
		on("n1", swarm.TaskStateRunning), on("n1", swarm.TaskStateShutdown), on("n1", swarm.TaskStateComplete),
		on("n1", swarm.TaskStateFailed), on("", swarm.TaskStatePending), on("n2", swarm.TaskStateRunning),
	}
	if got := liveTasks(tasks, nodes); got != 2 {
		t.Errorf("liveTasks = %d, want 2 (the running one on alpha, the pending one)", got)
	}
}
