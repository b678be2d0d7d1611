package swarmtest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
)

// StackObjects lists, as "kind name", every object of the stack namespace still on the engine
// (services, networks, secrets, configs, volumes, containers): what `docker stack deploy` or
// the control plane made under com.docker.stack.namespace, so tests can prove a removal left
// nothing, or only volumes.
func StackObjects(t testing.TB, cli *client.Client, namespace string) []string {
	t.Helper()
	ctx := context.Background()
	f := filters.NewArgs(filters.Arg("label", "com.docker.stack.namespace="+namespace))
	services, err1 := cli.ServiceList(ctx, swarm.ServiceListOptions{Filters: f})
	networks, err2 := cli.NetworkList(ctx, network.ListOptions{Filters: f})
	secrets, err3 := cli.SecretList(ctx, swarm.SecretListOptions{Filters: f})
	configs, err4 := cli.ConfigList(ctx, swarm.ConfigListOptions{Filters: f})
	vols, err5 := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
	containers, err6 := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
		t.Fatalf("objects of stack %s: %v", namespace, err)
	}
	var out []string
	for _, s := range services {
		out = append(out, "service "+s.Spec.Name)
	}
	for _, n := range networks {
		out = append(out, "network "+n.Name)
	}
	for _, s := range secrets {
		out = append(out, "secret "+s.Spec.Name)
	}
	for _, c := range configs {
		out = append(out, "config "+c.Spec.Name)
	}
	for _, v := range vols.Volumes {
		out = append(out, "volume "+v.Name)
	}
	for _, c := range containers {
		out = append(out, "container "+strings.Join(c.Names, ","))
	}
	return out
}
