package swarm

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/backpackhq/backpack/controlplane/runtime/swarm/convert"
	"github.com/backpackhq/backpack/stacktemplates"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
)

// place returns the node label value (backpack.node) a backend's services are pinned to. A
// backend that has one keeps it: some node must carry the label, or the label is put back on
// the node whose host name it was made from (a node that left and re-joined the swarm is a new
// node object without labels). A new backend goes to the ready, active node holding the
// fewest backends, counting those placed by this runtime whose services are still being
// created, and gets a label if it has none.
func (r *Runtime) place(ctx context.Context, backend, want string) (string, error) {
	if want == "" {
		// Placing a new backend reads the nodes and services, picks a node, labels and
		// reserves it in one critical section: two creates in the same second would
		// otherwise both see the same counts.
		r.placing.Lock()
		defer r.placing.Unlock()
	}
	nodes, err := r.engine.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return "", fmt.Errorf("list nodes: %w", err)
	}
	if want != "" {
		for _, n := range nodes {
			if n.Spec.Labels[stacktemplates.NodeLabel] == want {
				return want, nil
			}
		}
		for _, n := range nodes {
			if nodeLabelValue(n) == want && usable(n) {
				return want, r.labelNode(ctx, n.ID, want)
			}
		}
		return "", fmt.Errorf("%s's data is on node %q, and no node of the swarm carries the label %s=%s: if that node re-joined under another host name, label it with: docker node update --label-add %s=%s NODE",
			backend, want, stacktemplates.NodeLabel, want, stacktemplates.NodeLabel, want)
	}
	services, err := r.engine.ServiceList(ctx, swarm.ServiceListOptions{
		Filters: filters.NewArgs(filters.Arg("label", convert.LabelNamespace)),
	})
	if err != nil {
		return "", fmt.Errorf("list services: %w", err)
	}
	best, ok := leastLoaded(nodes, backendsPerNode(services, r.reserved))
	if !ok {
		return "", fmt.Errorf("no node of the swarm is ready and active to place %s on", backend)
	}
	chosen := labelValue(best)
	if best.Spec.Labels[stacktemplates.NodeLabel] == "" {
		for _, n := range nodes {
			if n.ID != best.ID && n.Spec.Labels[stacktemplates.NodeLabel] == chosen {
				chosen = best.ID // two nodes with one host name: the node id tells them apart
			}
		}
		if err := r.labelNode(ctx, best.ID, chosen); err != nil {
			return "", err
		}
	}
	if r.reserved == nil {
		r.reserved = map[string]string{}
	}
	r.reserved[backend] = chosen
	return chosen, nil
}

// unreserve forgets the node place chose for a new backend, once Apply is over: its services
// exist then and count themselves, or Apply failed (the control plane keeps the node it
// returned for the next attempt).
func (r *Runtime) unreserve(backend string) {
	r.placing.Lock()
	defer r.placing.Unlock()
	delete(r.reserved, backend)
}

// leastLoaded picks the ready, active node with the fewest backends (by label value), ties
// broken by label value so that the choice is stable.
func leastLoaded(nodes []swarm.Node, load map[string]int) (swarm.Node, bool) {
	var candidates []swarm.Node
	for _, n := range nodes {
		if usable(n) {
			candidates = append(candidates, n)
		}
	}
	if len(candidates) == 0 {
		return swarm.Node{}, false
	}
	return slices.MinFunc(candidates, func(a, b swarm.Node) int {
		return cmp.Or(cmp.Compare(load[labelValue(a)], load[labelValue(b)]), strings.Compare(labelValue(a), labelValue(b)))
	}), true
}

// labelValue is the node's backpack.node label, or the value it would be given.
func labelValue(n swarm.Node) string {
	return cmp.Or(n.Spec.Labels[stacktemplates.NodeLabel], nodeLabelValue(n))
}

func usable(n swarm.Node) bool {
	return n.Spec.Availability == swarm.NodeAvailabilityActive && n.Status.State == swarm.NodeStateReady
}

var notInNodeLabel = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// nodeLabelValue is the label value made for a node: its host name, reduced to what a
// placement constraint takes, or its id when nothing is left.
func nodeLabelValue(n swarm.Node) string {
	v := strings.Trim(notInNodeLabel.ReplaceAllString(n.Description.Hostname, "-"), "-_.")
	if len(v) > 63 {
		v = v[:63]
	}
	return cmp.Or(v, n.ID)
}

// labelNode adds backpack.node=value to a node, keeping its other labels; the node's version
// makes a concurrent change fail rather than be overwritten.
func (r *Runtime) labelNode(ctx context.Context, id, value string) error {
	n, _, err := r.engine.NodeInspectWithRaw(ctx, id)
	if err != nil {
		return fmt.Errorf("inspect node %s: %w", id, err)
	}
	spec := n.Spec
	labels := make(map[string]string, len(spec.Labels)+1)
	for k, v := range spec.Labels {
		labels[k] = v
	}
	labels[stacktemplates.NodeLabel] = value
	spec.Labels = labels
	if err := r.engine.NodeUpdate(ctx, id, n.Version, spec); err != nil {
		return fmt.Errorf("label node %s with %s=%s: %w", n.Description.Hostname, stacktemplates.NodeLabel, value, err)
	}
	return nil
}

// constraintPrefix starts the placement constraint backend.yml pins every service with.
const constraintPrefix = "node.labels." + stacktemplates.NodeLabel + "=="

// backendsPerNode counts the backends on each node label value: the stacks whose services'
// placement constraints pin them there, and the reserved ones (backend → label value) that
// were placed but whose services do not exist yet. A backend counts once, listed or reserved.
func backendsPerNode(services []swarm.Service, reserved map[string]string) map[string]int {
	stacks := map[string]map[string]bool{}
	add := func(label, stack string) {
		if stacks[label] == nil {
			stacks[label] = map[string]bool{}
		}
		stacks[label][stack] = true
	}
	listed := map[string]bool{}
	for _, s := range services {
		if label := pinnedTo(s); label != "" {
			add(label, s.Spec.Labels[convert.LabelNamespace])
			listed[s.Spec.Labels[convert.LabelNamespace]] = true
		}
	}
	for stack, label := range reserved {
		if !listed[stack] {
			add(label, stack)
		}
	}
	load := make(map[string]int, len(stacks))
	for v, set := range stacks {
		load[v] = len(set)
	}
	return load
}

// pinnedTo is the node label value a service's placement constraint pins it to, or "".
func pinnedTo(s swarm.Service) string {
	if s.Spec.TaskTemplate.Placement == nil {
		return ""
	}
	for _, c := range s.Spec.TaskTemplate.Placement.Constraints {
		if v, ok := strings.CutPrefix(strings.ReplaceAll(c, " ", ""), constraintPrefix); ok {
			return v
		}
	}
	return ""
}
