package swarm

import (
	"maps"
	"slices"
	"testing"

	"github.com/docker/docker/api/types/swarm"
)

// TestNodeLabelValue: host names become values a placement constraint and the template accept.
func TestNodeLabelValue(t *testing.T) {
	long := "h"
	for len(long) < 80 {
		long += "x"
	}
	for host, want := range map[string]string{
		"node-1":           "node-1",
		"Worker_2.example": "Worker_2.example",
		"-odd host name!":  "odd-host-name",
		"éé":               "the-id",
		"":                 "the-id",
		long:               long[:63],
	} {
		n := swarm.Node{ID: "the-id", Description: swarm.NodeDescription{Hostname: host}}
		if got := nodeLabelValue(n); got != want {
			t.Errorf("nodeLabelValue(%q) = %q, want %q", host, got, want)
		}
	}
}

// TestSecretVersion reads versions from the names the template uses and nothing else.
func TestSecretVersion(t *testing.T) {
	for name, want := range map[string]int{
		"shop_api_key_v1":      1,
		"shop_admin_token_v12": 12,
		"shop_api_key_v0":      0,
		"shop_api_key_vx":      0,
		"shopx_api_key_v3":     0,
		"shop_nginx_abc":       0,
	} {
		got, ok := secretVersion("shop", name)
		if got != want && ok || ok != (want > 0) {
			t.Errorf("secretVersion(%q) = %d, %v; want %d", name, got, ok, want)
		}
	}
}

// TestSpecDigest: the digest ignores an old digest label and changes with the spec.
func TestSpecDigest(t *testing.T) {
	a := swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "shop_api", Labels: map[string]string{"x": "1"}},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "api:1"}}}
	da, err := withSpecDigest(a)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := withSpecDigest(da)
	if again.Labels[LabelSpec] != da.Labels[LabelSpec] || a.Labels[LabelSpec] != "" || a.TaskTemplate.ContainerSpec.Labels != nil {
		t.Errorf("digest not stable or input changed: %v %v %v", da.Labels, again.Labels, a.Labels)
	}
	if da.TaskTemplate.ContainerSpec.Labels[LabelSpec] != da.Labels[LabelSpec] {
		t.Errorf("the container spec does not carry the digest: %v", da.TaskTemplate.ContainerSpec.Labels)
	}
	b := a
	b.Labels = map[string]string{"x": "2"}
	db, _ := withSpecDigest(b)
	if db.Labels[LabelSpec] == da.Labels[LabelSpec] {
		t.Error("a changed spec has the same digest")
	}

	// A new count of replicas changes the service's digest, not its tasks': Swarm scales
	// without replacing the tasks that run.
	replicas := func(n uint64) swarm.ServiceSpec {
		s := a
		s.Mode = swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &n}}
		d, err := withSpecDigest(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	one, three := replicas(1), replicas(3)
	if one.Labels[LabelSpec] == three.Labels[LabelSpec] {
		t.Error("1 and 3 replicas have the same service digest: scaling would not be applied")
	}
	if one.TaskTemplate.ContainerSpec.Labels[LabelSpec] != three.TaskTemplate.ContainerSpec.Labels[LabelSpec] {
		t.Error("1 and 3 replicas have different task digests: scaling would replace every task")
	}
}

func node(id, host, label string, ready bool, availability swarm.NodeAvailability) swarm.Node {
	n := swarm.Node{ID: id, Description: swarm.NodeDescription{Hostname: host}}
	n.Spec.Availability = availability
	n.Status.State = swarm.NodeStateDown
	if ready {
		n.Status.State = swarm.NodeStateReady
	}
	if label != "" {
		n.Spec.Labels = map[string]string{"backpack.node": label}
	}
	return n
}

// TestLeastLoaded: a new backend goes to the usable node holding the fewest backends; drained,
// paused and down nodes are never chosen.
func TestLeastLoaded(t *testing.T) {
	active := swarm.NodeAvailabilityActive
	nodes := []swarm.Node{
		node("1", "alpha", "alpha", true, active),
		node("2", "beta", "", true, active),
		node("3", "gamma", "", true, swarm.NodeAvailabilityDrain),
		node("4", "delta", "", false, active),
		node("5", "epsilon", "", true, swarm.NodeAvailabilityPause),
	}
	for name, tc := range map[string]struct {
		load map[string]int
		want string
	}{
		"empty swarm: by name":     {map[string]int{}, "1"},
		"alpha busier":             {map[string]int{"alpha": 2, "beta": 1}, "2"},
		"beta busier":              {map[string]int{"alpha": 1, "beta": 3}, "1"},
		"unusable nodes are empty": {map[string]int{"alpha": 5, "beta": 5}, "1"},
	} {
		got, ok := leastLoaded(nodes, tc.load)
		if !ok || got.ID != tc.want {
			t.Errorf("%s: chose %q, want %q", name, got.ID, tc.want)
		}
	}
	if _, ok := leastLoaded(nodes[2:], nil); ok {
		t.Error("chose a node among drained, down and paused ones")
	}
}

func pinned(stack, constraint string) swarm.Service {
	var s swarm.Service
	s.Spec.Labels = map[string]string{"com.docker.stack.namespace": stack}
	s.Spec.TaskTemplate.Placement = &swarm.Placement{Constraints: []string{"node.role==worker", constraint}}
	return s
}

// TestBackendsPerNode counts stacks, not services, per node label value, and a backend placed
// but whose services do not exist yet (reserved) once, where it was placed.
func TestBackendsPerNode(t *testing.T) {
	services := []swarm.Service{
		pinned("shop", "node.labels.backpack.node == alpha"), pinned("shop", "node.labels.backpack.node == alpha"),
		pinned("blog", "node.labels.backpack.node==alpha"), pinned("wiki", "node.labels.backpack.node == beta"),
		pinned("other", "node.labels.zone == beta"), {},
	}
	for name, tc := range map[string]struct {
		reserved map[string]string
		want     map[string]int
	}{
		"services only":                   {nil, map[string]int{"alpha": 2, "beta": 1}},
		"reserved, services not yet made": {map[string]string{"new1": "beta", "new2": "gamma"}, map[string]int{"alpha": 2, "beta": 2, "gamma": 1}},
		"reserved and already listed":     {map[string]string{"wiki": "beta", "shop": "alpha"}, map[string]int{"alpha": 2, "beta": 1}},
	} {
		got := backendsPerNode(services, tc.reserved)
		if !maps.Equal(got, tc.want) {
			t.Errorf("%s: backendsPerNode = %v, want %v", name, got, tc.want)
		}
	}
}

// TestPlacementWithReservations: backends placed one after another before any of their
// services exist (creates in the same second) spread over the nodes, because each placement
// counts the reservations of those before it.
func TestPlacementWithReservations(t *testing.T) {
	active := swarm.NodeAvailabilityActive
	nodes := []swarm.Node{node("1", "alpha", "alpha", true, active), node("2", "beta", "beta", true, active)}
	for name, tc := range map[string]struct {
		services []swarm.Service
		place    []string
		want     []string
	}{
		"empty swarm, two at once":  {nil, []string{"a", "b"}, []string{"alpha", "beta"}},
		"empty swarm, four at once": {nil, []string{"a", "b", "c", "d"}, []string{"alpha", "beta", "alpha", "beta"}},
		"alpha busier, three at once": {
			[]swarm.Service{pinned("old", "node.labels.backpack.node==alpha")},
			[]string{"a", "b", "c"}, []string{"beta", "alpha", "beta"},
		},
	} {
		reserved := map[string]string{}
		var got []string
		for _, backend := range tc.place {
			n, ok := leastLoaded(nodes, backendsPerNode(tc.services, reserved))
			if !ok {
				t.Fatalf("%s: no node", name)
			}
			reserved[backend] = labelValue(n)
			got = append(got, labelValue(n))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: placed on %v, want %v", name, got, tc.want)
		}
	}
}
