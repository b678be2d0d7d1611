package swarm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/backpackhq/backpack/controlplane/runtime"
	"github.com/backpackhq/backpack/controlplane/runtime/swarm/convert"
	"github.com/backpackhq/backpack/stacktemplates"
	"github.com/backpackhq/backpack/tools/volumepurge"
	"github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/pkg/stdcopy"
)

// The purge job, the one-shot service that removes a backend's volumes on a node other than
// this manager's: its name is the stack's plus purgeJobSuffix, it mounts the node's engine
// socket, Remove waits for it up to purgeJobWait, Swarm restarts its task purgeJobRestarts
// times after a failure, a task waiting for a node longer than purgeUnschedulable makes Remove
// give up, and an error quotes the last purgeJobLogLines lines of its output if they come
// within purgeJobLogsTimeout.
const (
	purgeJobSuffix      = "_purge"
	dockerSocket        = "/var/run/docker.sock"
	purgeJobWait        = 3 * time.Minute
	purgeJobRestarts    = 1
	purgeUnschedulable  = 30 * time.Second
	purgeJobLogLines    = "20"
	purgeJobLogsTimeout = 5 * time.Second
	// localInUseWait is how long a volume on this manager still held by a stopping container
	// is retried.
	localInUseWait = 30 * time.Second
)

// purgeVolumes removes the stack's volumes from the node they live on, the one labelled
// backpack.node=label (where every service of the stack was pinned). On this manager's own
// engine they are removed directly; on another node, by the purge job. A node that is down
// keeps them: the error says so, and the reconciler's retry finishes the purge when it is
// back. A node the swarm no longer has (an operator removed it: it is not coming back) took
// them with it: the purge is done, and says what to do should that machine ever return. No
// later backend can attach them: every backend's volumes have names of their own (Spec.Volumes).
func (r *Runtime) purgeVolumes(ctx context.Context, name, label string, progress runtime.Progress) error {
	if label == "" {
		return r.purgeLocalVolumes(ctx, name, progress)
	}
	info, err := r.engine.Info(ctx)
	if err != nil {
		return fmt.Errorf("engine info: %w", err)
	}
	nodes, err := r.engine.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	holders := labelled(nodes, label)
	if len(holders) == 0 {
		progress(fmt.Sprintf("node %s is no longer in the swarm: %s's volumes there went with it; should that machine ever join again, remove them there with docker volume rm $(docker volume ls -q --filter label=%s=%s)",
			label, name, convert.LabelNamespace, name))
		return nil
	}
	if len(holders) == 1 && holders[0].ID == info.Swarm.NodeID && !r.purgeByJob {
		return r.purgeLocalVolumes(ctx, name, progress)
	}
	if err := holdersUp(name, label, holders); err != nil {
		return err
	}
	return r.purgeOnNode(ctx, name, label, progress)
}

// purgeLocalVolumes removes the stack's volumes through this manager's engine, as the purge
// job does on another node (volumepurge.Purge).
func (r *Runtime) purgeLocalVolumes(ctx context.Context, name string, progress runtime.Progress) error {
	return volumepurge.Purge(ctx, r.engine, name, localInUseWait, func(v string) { progress("volume " + v + " removed") })
}

// labelled are the nodes carrying backpack.node=label.
func labelled(nodes []swarm.Node, label string) []swarm.Node {
	var out []swarm.Node
	for _, n := range nodes {
		if n.Spec.Labels[stacktemplates.NodeLabel] == label {
			out = append(out, n)
		}
	}
	return out
}

// holdersUp fails, naming the node, when the nodes labelled label (holders) are all unable to
// run the purge job. None at all is no failure: the node left the swarm, and its volumes
// with it (purgeVolumes says so).
func holdersUp(name, label string, holders []swarm.Node) error {
	if len(holders) == 0 {
		return nil
	}
	for _, n := range holders {
		if usable(n) {
			return nil
		}
	}
	return fmt.Errorf("volumes of %s stay on node %s, which is down: the purge finishes when it returns", name, label)
}

// purgeJob is the spec of the one-shot service that runs `backpack-api purge-volumes NAME` on
// the node labelled label, as root with that node's engine socket mounted, from the API image
// (the node has it: the backend's API ran there). It carries the stack's namespace, so
// Remove's listing of the stack's services removes one an interrupted attempt left.
//
// It is one replica restarted only on failure rather than a replicated-job: Engine 20.10
// keeps a job's tasks and containers after its service is removed (moby/moby#42789,
// #44312), which would leave a container of the stack on the node for ever.
func purgeJob(stack, label, image string) swarm.ServiceSpec {
	one, restarts, delay := uint64(1), uint64(purgeJobRestarts), time.Second
	labels := map[string]string{convert.LabelNamespace: stack}
	return swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: stack + purgeJobSuffix, Labels: labels},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image:  image,
				Labels: labels,
				Args:   []string{volumepurge.Command, stack},
				Env:    []string{volumepurge.NodeEnv + "={{.Node.ID}}"},
				User:   "0",
				Mounts: []mount.Mount{{Type: mount.TypeBind, Source: dockerSocket, Target: dockerSocket}},
			},
			Placement:     &swarm.Placement{Constraints: []string{constraintPrefix + label}},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionOnFailure, MaxAttempts: &restarts, Delay: &delay},
		},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &one}},
	}
}

// purgeOnNode runs the purge job on the node labelled label, waits for its outcome and
// removes the job's service, whatever the outcome.
func (r *Runtime) purgeOnNode(ctx context.Context, name, label string, progress runtime.Progress) (err error) {
	created, err := r.engine.ServiceCreate(ctx, purgeJob(name, label, r.APIImage()), swarm.ServiceCreateOptions{})
	if err != nil {
		return fmt.Errorf("create the purge job %s%s: %w", name, purgeJobSuffix, err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if rerr := r.engine.ServiceRemove(rctx, created.ID); rerr != nil && !errdefs.IsNotFound(rerr) {
			err = errors.Join(err, fmt.Errorf("remove the purge job %s%s: %w", name, purgeJobSuffix, rerr))
		}
	}()
	progress(fmt.Sprintf("purging the volumes of %s on node %s", name, label))
	deadline := time.Now().Add(purgeJobWait)
	for {
		tasks, err := r.engine.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", created.ID))})
		if err != nil {
			return fmt.Errorf("list the purge job's tasks: %w", err)
		}
		nodes, err := r.engine.NodeList(ctx, swarm.NodeListOptions{})
		if err != nil {
			return fmt.Errorf("list nodes: %w", err)
		}
		if err := holdersUp(name, label, labelled(nodes, label)); err != nil {
			return err
		}
		outcome := jobOutcome(tasks, purgeJobRestarts, time.Now().Add(-purgeUnschedulable))
		switch {
		case outcome.done:
			progress(fmt.Sprintf("volumes of %s removed on node %s", name, label))
			return nil
		case outcome.failed != "":
			return fmt.Errorf("purge of the volumes of %s on node %s failed: %s%s", name, label, outcome.failed, r.jobLogs(ctx, created.ID))
		case outcome.unschedulable != "":
			return fmt.Errorf("volumes of %s stay on node %s, where the purge job cannot be scheduled (%s): the purge is retried", name, label, outcome.unschedulable)
		case time.Now().After(deadline):
			return fmt.Errorf("purge of the volumes of %s on node %s not done after %s%s", name, label, purgeJobWait, r.jobLogs(ctx, created.ID))
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return err
		}
	}
}

// outcome is where a one-shot job stands: done, failed for good (the last task's error), or
// stuck without a node (the scheduler's reason); all empty while it runs or waits.
type outcome struct {
	done          bool
	failed        string
	unschedulable string
}

// jobOutcome reads a job's tasks: done once one completed; failed once more tasks failed than
// Swarm restarts; unschedulable when a task has waited for a node since before stuckSince.
func jobOutcome(tasks []swarm.Task, restarts int, stuckSince time.Time) outcome {
	var out outcome
	failed, last := 0, swarm.Task{}
	for _, t := range tasks {
		switch t.Status.State {
		case swarm.TaskStateComplete:
			out.done = true
		case swarm.TaskStateFailed, swarm.TaskStateRejected:
			failed++
			if t.Status.Timestamp.After(last.Status.Timestamp) {
				last = t
			}
		case swarm.TaskStatePending:
			if t.Status.Err != "" && t.Meta.CreatedAt.Before(stuckSince) {
				out.unschedulable = t.Status.Err
			}
		}
	}
	if out.done {
		return outcome{done: true}
	}
	if failed > restarts {
		out.failed = taskProblem(last)
	}
	return out
}

// jobLogs is the tail of the job's output, as a suffix for an error; "" when there is none
// or it cannot be read promptly.
func (r *Runtime) jobLogs(ctx context.Context, id string) string {
	ctx, cancel := context.WithTimeout(ctx, purgeJobLogsTimeout)
	defer cancel()
	rc, err := r.engine.ServiceLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: purgeJobLogLines})
	if err != nil {
		return ""
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil && out.Len() == 0 {
		return ""
	}
	if s := strings.TrimSpace(out.String()); s != "" {
		return "; its output: " + strings.ReplaceAll(s, "\n", " | ")
	}
	return ""
}
