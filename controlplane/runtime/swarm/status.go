package swarm

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/backpackhq/backpack/controlplane/runtime"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
)

// Status reads the backend's services and their tasks: desired against running tasks, the node
// they run on, and the last task error (such as "No such image" or a non-zero exit after an
// OOM kill). The backend is Ready when every service runs all its tasks and the API's
// readiness check (Mongo and Redis reachable) answers on its admin port.
func (r *Runtime) Status(ctx context.Context, name string) (runtime.Status, error) {
	services, err := r.engine.ServiceList(ctx, swarm.ServiceListOptions{Filters: namespaceFilter(name)})
	if err != nil {
		return runtime.Status{}, fmt.Errorf("status of %s: list services: %w", name, err)
	}
	if len(services) == 0 {
		return runtime.Status{}, fmt.Errorf("status of %s: %w", name, runtime.ErrNotFound)
	}
	args := filters.NewArgs()
	for _, s := range services {
		args.Add("service", s.ID)
	}
	tasks, err := r.engine.TaskList(ctx, swarm.TaskListOptions{Filters: args})
	if err != nil {
		return runtime.Status{}, fmt.Errorf("status of %s: list tasks: %w", name, err)
	}
	nodes, err := r.engine.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return runtime.Status{}, fmt.Errorf("status of %s: list nodes: %w", name, err)
	}
	byID := make(map[string]swarm.Node, len(nodes))
	for _, n := range nodes {
		byID[n.ID] = n
	}
	slices.SortFunc(services, func(a, b swarm.Service) int { return strings.Compare(a.Spec.Name, b.Spec.Name) })
	st := runtime.Status{Ready: true}
	for _, s := range services {
		ss := serviceStatus(name, s, tasks, byID)
		if ss.Running < ss.Desired || ss.Desired == 0 {
			st.Ready = false
		}
		if down := nodeDown(s, nodes); down != "" && ss.Running < ss.Desired {
			ss.LastError = down
			st.Reason = cmp.Or(st.Reason, down)
		}
		if f := failing(s, tasks, r.cfg.FailedTasks); f != "" && ss.Running == 0 && ss.Desired > 0 {
			st.Failure = cmp.Or(st.Failure, fmt.Sprintf("service %s: %s", ss.Name, f))
		}
		st.Services = append(st.Services, ss)
	}
	if st.Ready {
		if err := r.apiReady(ctx, name); err != nil {
			st.Ready = false
			for i := range st.Services {
				if st.Services[i].Name == "api" {
					st.Services[i].LastError = err.Error()
				}
			}
		}
	}
	return st, nil
}

// serviceStatus summarises one service from its tasks; only tasks of its present spec count
// as running, and none on a node that is not ready (it cannot say that they still run).
func serviceStatus(stack string, s swarm.Service, tasks []swarm.Task, nodes map[string]swarm.Node) runtime.ServiceStatus {
	ss := runtime.ServiceStatus{Name: strings.TrimPrefix(s.Spec.Name, stack+"_")}
	if s.Spec.Mode.Replicated != nil && s.Spec.Mode.Replicated.Replicas != nil {
		ss.Desired = int(*s.Spec.Mode.Replicated.Replicas)
	}
	var newest *swarm.Task
	for i, t := range tasks {
		if t.ServiceID != s.ID {
			continue
		}
		n, known := nodes[t.NodeID]
		nodeUp := !known || n.Status.State == swarm.NodeStateReady
		if t.DesiredState == swarm.TaskStateRunning && t.Status.State == swarm.TaskStateRunning && current(t, s) && nodeUp {
			ss.Running++
			ss.Node = n.Description.Hostname
		}
		if newest == nil || t.Status.Timestamp.After(newest.Status.Timestamp) {
			newest = &tasks[i]
		}
	}
	if ss.Running < ss.Desired && newest != nil {
		ss.LastError = taskProblem(*newest)
	}
	return ss
}

// current reports whether a task runs the service's present spec: during an update (a new
// API key, a new image) the old task keeps running until its successor does, and only the
// successor counts. The digest label of the container spec (see withSpecDigest), which every
// task copies, tells them apart; a service deployed without one (by hand) counts every
// running task.
func current(t swarm.Task, s swarm.Service) bool {
	var want string
	if c := s.Spec.TaskTemplate.ContainerSpec; c != nil {
		want = c.Labels[LabelSpec]
	}
	return want == "" || (t.Spec.ContainerSpec != nil && t.Spec.ContainerSpec.Labels[LabelSpec] == want)
}

// taskProblem is what went wrong with a task, or "" while it is on its way.
func taskProblem(t swarm.Task) string {
	switch t.Status.State {
	case swarm.TaskStateFailed, swarm.TaskStateRejected:
		return cmp.Or(t.Status.Err, t.Status.Message, string(t.Status.State))
	}
	return t.Status.Err
}

// failing returns the latest error when at least limit tasks of the service's current spec
// have failed or were rejected: Swarm retries forever, so a backend whose image does not
// exist would otherwise converge for ever instead of failing.
func failing(s swarm.Service, tasks []swarm.Task, limit int) string {
	since := s.Meta.UpdatedAt.Add(-time.Second)
	count, last := 0, swarm.Task{}
	for _, t := range tasks {
		if t.ServiceID != s.ID || t.Meta.CreatedAt.Before(since) {
			continue
		}
		if t.Status.State == swarm.TaskStateFailed || t.Status.State == swarm.TaskStateRejected {
			count++
			if t.Status.Timestamp.After(last.Status.Timestamp) {
				last = t
			}
		}
	}
	if count < limit {
		return ""
	}
	return fmt.Sprintf("%d tasks failed, the last with: %s", count, taskProblem(last))
}

// nodeDown says why a service cannot run where it is pinned: "node X is down" (X, the node's
// backpack.node label value) when no node carrying that label is ready and active, "node X is
// not in the swarm" when none carries it; "" when its node is up or it is pinned nowhere.
// That one cause explains every service of the backend at once, better than their task
// errors or the API's readiness check.
func nodeDown(s swarm.Service, nodes []swarm.Node) string {
	label := pinnedTo(s)
	if label == "" {
		return ""
	}
	holders := labelled(nodes, label)
	if len(holders) == 0 {
		return fmt.Sprintf("node %s is not in the swarm", label)
	}
	for _, n := range holders {
		if usable(n) {
			return ""
		}
	}
	if n := holders[0]; n.Status.State == swarm.NodeStateReady {
		return fmt.Sprintf("node %s is down (availability %s)", label, n.Spec.Availability)
	}
	return fmt.Sprintf("node %s is down", label)
}

// apiReady asks the api's admin port whether it reaches its database and Redis.
func (r *Runtime) apiReady(ctx context.Context, name string) error {
	base, _ := r.AdminURL(ctx, name)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := r.admin.Do(req)
	if err != nil {
		return fmt.Errorf("readiness check: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("readiness check: %s", resp.Status)
	}
	return nil
}
