package platformtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os/exec"
	"testing"
	"time"

	"github.com/backpackhq/backpack/controlplane/runtime/swarm"
	"github.com/backpackhq/backpack/controlplane/runtime/swarm/convert"
	"github.com/backpackhq/backpack/internal/swarmtest"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	dockerswarm "github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
)

// createSecret creates a platform secret with random data unless it exists, and says whether
// it did.
func createSecret(t testing.TB, cli *client.Client, name string) bool {
	t.Helper()
	ctx := context.Background()
	list, err := cli.SecretList(ctx, dockerswarm.SecretListOptions{Filters: filters.NewArgs(filters.Arg("name", name))})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.Spec.Name == name {
			return false
		}
	}
	data := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, data); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.SecretCreate(ctx, dockerswarm.SecretSpec{Annotations: dockerswarm.Annotations{Name: name},
		Data: fmt.Appendf(nil, "%x", data)}); err != nil {
		t.Fatalf("create secret %s: %v", name, err)
	}
	return true
}

func networkExists(ctx context.Context, cli *client.Client, name string) bool {
	list, err := cli.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("name", name))})
	if err != nil {
		return false
	}
	for _, n := range list {
		if n.Name == name {
			return true
		}
	}
	return false
}

// remove takes the platform away like `docker stack rm`, then what the control plane made for
// the backends it was asked for, the stack's volumes once its containers are gone, and the
// secrets and networks Deploy created; then it checks that nothing of the platform is left.
func (p *Platform) remove() {
	t := p.T
	if t.Failed() {
		for _, service := range []string{"controlplane", "traefik", "pebble", "pebble-dns"} {
			t.Logf("%s logs:\n%s", service, ServiceLogs(service, 60))
		}
	}
	if out, err := exec.Command("docker", "stack", "rm", Stack).CombinedOutput(); err != nil {
		t.Errorf("docker stack rm: %v\n%s", err, out)
	}
	ctx := context.Background()
	f := filters.NewArgs(filters.Arg("label", convert.LabelNamespace+"="+Stack))
	waitNoContainers(ctx, p.Cli, f)
	if len(p.Created) > 0 {
		rt, err := swarm.New(ctx, swarm.Config{Engine: p.Cli, Domain: p.Domain})
		if err != nil {
			t.Error(err)
		}
		for _, name := range p.Created {
			if err := rt.Remove(ctx, name, "", true, func(string) {}); err != nil {
				t.Errorf("remove backend %s: %v", name, err)
			}
		}
	}
	if vols, err := p.Cli.VolumeList(ctx, volume.ListOptions{Filters: f}); err != nil {
		t.Error(err)
	} else {
		for _, v := range vols.Volumes {
			retry(func() error { return p.Cli.VolumeRemove(ctx, v.Name, false) })
		}
	}
	for _, name := range p.secrets {
		if err := retry(func() error { return p.Cli.SecretRemove(ctx, name) }); err != nil {
			t.Errorf("remove secret %s: %v", name, err)
		}
	}
	for _, name := range p.nets {
		p.removeNetworkIfUnused(ctx, name)
	}
	if left := swarmtest.StackObjects(t, p.Cli, Stack); len(left) > 0 {
		t.Errorf("the platform left %v", left)
	}
	for _, name := range p.Created {
		if left := swarmtest.StackObjects(t, p.Cli, name); len(left) > 0 {
			t.Errorf("backend %s left %v", name, left)
		}
	}
}

// removeNetworkIfUnused removes an external network Deploy created, unless a service or a
// container of another test (other packages' tests run at the same time) still uses it.
func (p *Platform) removeNetworkIfUnused(ctx context.Context, name string) {
	services, err := p.Cli.ServiceList(ctx, dockerswarm.ServiceListOptions{})
	if err != nil {
		p.T.Errorf("list services: %v", err)
		return
	}
	info, err := p.Cli.NetworkInspect(ctx, name, network.InspectOptions{})
	if err != nil {
		p.T.Errorf("inspect network %s: %v", name, err)
		return
	}
	for _, s := range services {
		for _, n := range s.Spec.TaskTemplate.Networks {
			if n.Target == info.ID || n.Target == name {
				return
			}
		}
	}
	if len(info.Containers) > 0 {
		return
	}
	if err := retry(func() error { return p.Cli.NetworkRemove(ctx, name) }); err != nil {
		p.T.Logf("network %s left: %v", name, err)
	}
}

// waitNoContainers waits up to two minutes for the containers matching f to be gone.
func waitNoContainers(ctx context.Context, cli *client.Client, f filters.Args) {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		left, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
		if err == nil && len(left) == 0 {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// retry calls f up to 20 times, half a second apart, until it succeeds: an object in use by a
// container that is going away cannot be removed for a moment.
func retry(f func() error) error {
	var err error
	for range 20 {
		if err = f(); err == nil {
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return err
}
