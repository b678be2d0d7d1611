// Package swarmtest gives end-to-end tests a way into the local Docker Swarm's overlay
// networks. Tests run on the host, which is on none of them, yet must send requests exactly as
// Traefik would forward them over backpack_public and prove that some ports cannot be reached
// from a network. A Probe is a small CONNECT proxy container (internal/cmd/netprobe) attached
// to one network with its port published on the host's loopback; tests dial through it, so
// every connection is opened from inside that network, with its DNS.
//
// The package knows nothing of Backpack itself: it deals in engines, networks and addresses.
// It follows internal/testenv's rule for what is missing: under CI (CI=true) a missing engine,
// swarm or image fails the test, elsewhere the test skips and says how to get it.
package swarmtest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/testenv"
	"github.com/backpackhq/backpack/stacktemplates"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
)

// TestLabel marks every container this package starts, so the leftovers of an interrupted run
// can be found and removed:
//
//	docker ps -aq --filter label=com.backpackhq.backpack.test=1 | xargs -r docker rm -f
const TestLabel = "com.backpackhq.backpack.test"

// Engine returns a client of the local Docker Engine (DOCKER_HOST and friends, else the
// default socket), closed at the test's end, after checking that the engine answers and is an
// active Swarm manager: the end-to-end tests deploy stacks and attach to overlay networks.
func Engine(t testing.TB) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatalf("Docker client from the environment: %v", err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	info, err := cli.Info(ctx)
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("Docker Engine at %s (%v)", cli.DaemonHost(), err))
	}
	if info.Swarm.LocalNodeState != swarm.LocalNodeStateActive || !info.Swarm.ControlAvailable {
		testenv.Missing(t, fmt.Sprintf("Swarm manager: Docker Engine %s at %s has swarm state %q, manager %t",
			info.ServerVersion, cli.DaemonHost(), info.Swarm.LocalNodeState, info.Swarm.ControlAvailable))
	}
	return cli
}

// EnsureNetwork creates the attachable overlay network name (internal: no way out of it) unless
// it exists, and checks that an existing one has those properties: probes and the platform's
// services join backpack_public (attachable) and backpack_admin (attachable, internal) this way
// whichever test or deployment got there first. backpack_public is created on
// stacktemplates.PublicSubnet, as the control plane creates it, since backends trust that
// subnet's X-Forwarded-For.
func EnsureNetwork(ctx context.Context, cli *client.Client, name string, internal bool) error {
	existing, err := findNetwork(ctx, cli, name)
	if err != nil {
		return err
	}
	if existing == nil {
		opts := network.CreateOptions{Driver: "overlay", Scope: "swarm", Attachable: true, Internal: internal}
		if name == "backpack_public" {
			opts.IPAM = &network.IPAM{Config: []network.IPAMConfig{{Subnet: stacktemplates.PublicSubnet}}}
		}
		_, createErr := cli.NetworkCreate(ctx, name, opts)
		// Another test may have created it meanwhile: look again before giving up.
		if existing, err = findNetwork(ctx, cli, name); err != nil {
			return err
		}
		if existing == nil {
			return fmt.Errorf("create overlay network %s: %w", name, createErr)
		}
	}
	// The swarm fills a network in a moment after creating it: until then its driver is empty.
	for settle := time.Now().Add(10 * time.Second); existing.Driver == ""; {
		if time.Now().After(settle) {
			return fmt.Errorf("network %s: the swarm has not set it up after 10 s", name)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("network %s: wait for the swarm to set it up: %w", name, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
		if existing, err = findNetwork(ctx, cli, name); err != nil {
			return err
		}
		if existing == nil {
			return fmt.Errorf("network %s was removed while being set up", name)
		}
	}
	if existing.Driver != "overlay" || !existing.Attachable || existing.Internal != internal {
		return fmt.Errorf("network %s exists with driver %s, attachable %t, internal %t; want an attachable overlay, internal %t (remove it: docker network rm %s)",
			name, existing.Driver, existing.Attachable, existing.Internal, internal, name)
	}
	return nil
}

// findNetwork is the network called exactly name, or nil; the engine's name filter also
// matches parts of names.
func findNetwork(ctx context.Context, cli *client.Client, name string) (*network.Summary, error) {
	list, err := cli.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("name", name))})
	if err != nil {
		return nil, fmt.Errorf("list networks named %s: %w", name, err)
	}
	var found *network.Summary
	for i := range list {
		if list[i].Name != name {
			continue
		}
		if found != nil {
			return nil, fmt.Errorf("several networks are named %s (%s, %s): remove all but one", name, found.ID, list[i].ID)
		}
		found = &list[i]
	}
	return found, nil
}

// missing applies testenv's rule for a missing prerequisite whose remedy is not
// scripts/test-env.sh: fail under CI, skip elsewhere, saying how to get it.
func missing(t testing.TB, what, how string) {
	t.Helper()
	msg := fmt.Sprintf("MISSING %s — %s", what, how)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
