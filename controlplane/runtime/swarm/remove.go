package swarm

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/backpackhq/backpack/controlplane/runtime"
	"github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
)

// removeWait bounds how long Remove waits for the stack's tasks, then its containers on this
// engine, to go before it removes the networks and volumes they hold.
const removeWait = 2 * time.Minute

// Remove deletes the backend's stack in the order `docker stack rm` does, services first, then
// networks, secrets and configs; with purge, also its volumes, once no task holds them.
// Volumes live on the node the stack was pinned to: node (the backend's Spec.Node), else the
// one its services' constraints name. On another node than this manager's they are removed by
// a one-shot job there (see purgeVolumes); a purge job an interrupted Remove left is one of
// the stack's services, removed first like the others.
func (r *Runtime) Remove(ctx context.Context, name, node string, purge bool, progress runtime.Progress) error {
	services, err := r.engine.ServiceList(ctx, swarm.ServiceListOptions{Filters: namespaceFilter(name)})
	if err != nil {
		return fmt.Errorf("remove %s: list services: %w", name, err)
	}
	for _, s := range services {
		node = cmp.Or(node, pinnedTo(s))
		if err := r.engine.ServiceRemove(ctx, s.ID); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("remove %s: service %s: %w", name, s.Spec.Name, err)
		}
		progress("service " + s.Spec.Name + " removed")
	}
	if err := r.waitTasksGone(ctx, name); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	if err := r.waitContainersGone(ctx, name); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	if purge && node != "" {
		// With the volumes' node down, its tasks cannot stop and hold the stack's network:
		// say why the purge waits rather than fail on the network.
		nodes, err := r.engine.NodeList(ctx, swarm.NodeListOptions{})
		if err != nil {
			return fmt.Errorf("remove %s: list nodes: %w", name, err)
		}
		if err := holdersUp(name, node, labelled(nodes, node)); err != nil {
			return fmt.Errorf("remove %s: %w", name, err)
		}
	}
	networks, err := r.engine.NetworkList(ctx, network.ListOptions{Filters: namespaceFilter(name)})
	if err != nil {
		return fmt.Errorf("remove %s: list networks: %w", name, err)
	}
	for _, n := range networks {
		if err := retryInUse(ctx, func() error { return r.engine.NetworkRemove(ctx, n.ID) }); err != nil {
			return fmt.Errorf("remove %s: network %s: %w", name, n.Name, err)
		}
		progress("network " + n.Name + " removed")
	}
	secrets, err := r.engine.SecretList(ctx, swarm.SecretListOptions{Filters: namespaceFilter(name)})
	if err != nil {
		return fmt.Errorf("remove %s: list secrets: %w", name, err)
	}
	for _, s := range secrets {
		if err := retryInUse(ctx, func() error { return r.engine.SecretRemove(ctx, s.ID) }); err != nil {
			return fmt.Errorf("remove %s: secret %s: %w", name, s.Spec.Name, err)
		}
	}
	configs, err := r.engine.ConfigList(ctx, swarm.ConfigListOptions{Filters: namespaceFilter(name)})
	if err != nil {
		return fmt.Errorf("remove %s: list configs: %w", name, err)
	}
	for _, c := range configs {
		if err := retryInUse(ctx, func() error { return r.engine.ConfigRemove(ctx, c.ID) }); err != nil {
			return fmt.Errorf("remove %s: config %s: %w", name, c.Spec.Name, err)
		}
	}
	if len(secrets)+len(configs) > 0 {
		progress(fmt.Sprintf("%d secrets and %d configs removed", len(secrets), len(configs)))
	}
	if !purge {
		return nil
	}
	if err := r.purgeVolumes(ctx, name, node, progress); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

// waitTasksGone waits until no task of the stack is still running or on its way on a node
// that is up, whichever node it is on: removing a service only asks its tasks to stop, and
// their networks and volumes stay busy until then. Tasks on a node that is down cannot stop
// before it returns; a purge then fails naming that node.
func (r *Runtime) waitTasksGone(ctx context.Context, name string) error {
	deadline := time.Now().Add(removeWait)
	for {
		tasks, err := r.engine.TaskList(ctx, swarm.TaskListOptions{Filters: namespaceFilter(name)})
		if err != nil {
			return fmt.Errorf("list tasks: %w", err)
		}
		nodes, err := r.engine.NodeList(ctx, swarm.NodeListOptions{})
		if err != nil {
			return fmt.Errorf("list nodes: %w", err)
		}
		left := liveTasks(tasks, nodes)
		if left == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d tasks still there after %s", left, removeWait)
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
}

// liveTasks counts the tasks that have not reached a final state, leaving out those on nodes
// that are not ready (they stop only when their node is back).
func liveTasks(tasks []swarm.Task, nodes []swarm.Node) int {
	down := map[string]bool{}
	for _, n := range nodes {
		down[n.ID] = n.Status.State != swarm.NodeStateReady
	}
	live := 0
	for _, t := range tasks {
		switch t.Status.State {
		case swarm.TaskStateComplete, swarm.TaskStateShutdown, swarm.TaskStateFailed, swarm.TaskStateRejected,
			swarm.TaskStateRemove, swarm.TaskStateOrphaned:
			continue
		}
		if t.NodeID != "" && down[t.NodeID] {
			continue
		}
		live++
	}
	return live
}

// waitContainersGone waits until no container of the stack is left on this engine: removing a
// service only asks its tasks to stop, and their networks and volumes stay busy until then.
func (r *Runtime) waitContainersGone(ctx context.Context, name string) error {
	deadline := time.Now().Add(removeWait)
	for {
		left, err := r.engine.ContainerList(ctx, container.ListOptions{All: true, Filters: namespaceFilter(name)})
		if err != nil {
			return fmt.Errorf("list containers: %w", err)
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d containers still there after %s", len(left), removeWait)
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
}

// retryInUse retries a removal the engine refuses because the object is still in use (an
// endpoint or a task that is going away), for up to 30 s. Gone already counts as done.
func retryInUse(ctx context.Context, remove func() error) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := remove()
		switch {
		case err == nil || errdefs.IsNotFound(err):
			return nil
		case time.Now().After(deadline) || !(errdefs.IsConflict(err) || errdefs.IsPermissionDenied(err) || errdefs.IsInvalidArgument(err) || errdefs.IsInternal(err)):
			return err
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return errors.Join(err, remove())
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
