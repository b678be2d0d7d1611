package swarmtest_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/swarmtest"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/gorilla/websocket"
)

// tempNetwork creates a throw-away attachable overlay network with EnsureNetwork and removes
// it at the test's end, after the probes on it (cleanups run last-registered first).
func tempNetwork(t *testing.T, cli *client.Client, internal bool) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "backpack-test-" + hex.EncodeToString(b[:])
	// Registered first: EnsureNetwork may fail after creating the network.
	t.Cleanup(func() {
		// The swarm lets go of a removed container's attachment a moment later.
		deadline := time.Now().Add(30 * time.Second)
		for {
			err := cli.NetworkRemove(context.Background(), name)
			if err == nil || cerrdefs.IsNotFound(err) {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("remove network %s: %v", name, err)
				return
			}
			time.Sleep(250 * time.Millisecond)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := swarmtest.EnsureNetwork(ctx, cli, name, internal); err != nil {
		t.Fatal(err)
	}
	return name
}

// target is the address of probe's own proxy port on its network.
func target(p *swarmtest.Probe) string {
	return net.JoinHostPort(p.Name, strconv.Itoa(swarmtest.ProbePort))
}

func requireUnreachable(t *testing.T, from *swarmtest.Probe, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := from.Reachable(ctx, addr)
	var unreachable *swarmtest.UnreachableError
	if !errors.As(err, &unreachable) {
		t.Fatalf("Reachable(%s) from %s = %v, want an *UnreachableError", addr, from.Network, err)
	}
	if unreachable.Reason == "" || unreachable.Addr != addr || unreachable.Network != from.Network {
		t.Fatalf("UnreachableError %+v: want addr %s, network %s and the probe's reason", unreachable, addr, from.Network)
	}
	t.Logf("as expected: %v", err)
}

func TestProbesReachWhatTheirNetworkReaches(t *testing.T) {
	cli := swarmtest.Engine(t)
	public := tempNetwork(t, cli, false)
	admin := tempNetwork(t, cli, true)
	a := swarmtest.StartProbe(t, cli, public)
	b := swarmtest.StartProbe(t, cli, public)
	c := swarmtest.StartProbe(t, cli, admin)
	d := swarmtest.StartProbe(t, cli, admin)

	t.Run("HTTP to another container by name", func(t *testing.T) {
		for _, pair := range [][2]*swarmtest.Probe{{a, b}, {c, d}} {
			from, to := pair[0], pair[1]
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+target(to)+"/healthz", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = "shop-be.example.test" // what Traefik would send; netprobe ignores it
			resp, err := from.HTTPClient().Do(req)
			if err != nil {
				t.Fatalf("GET %s/healthz on %s: %v", to.Name, from.Network, err)
			}
			body, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
				t.Fatalf("GET %s/healthz on %s: %s %q, want 200 ok", to.Name, from.Network, resp.Status, body)
			}
		}
	})

	t.Run("websocket dialer goes through the probe", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		// netprobe does not speak websocket: reaching it at all shows as its refusal to upgrade.
		conn, resp, err := a.WebsocketDialer().DialContext(ctx, "ws://"+target(b)+"/healthz", nil)
		if err == nil {
			_ = conn.Close()
			t.Fatal("netprobe accepted a websocket")
		}
		if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("dial ws://%s/healthz: %v (response %v), want a bad handshake answered 200 by %s", target(b), err, resp, b.Name)
		}
		_ = resp.Body.Close()
	})

	t.Run("reachable", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := a.Reachable(ctx, target(b)); err != nil {
			t.Fatal(err)
		}
		if err := c.Reachable(ctx, target(d)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("port nothing listens on", func(t *testing.T) {
		requireUnreachable(t, a, net.JoinHostPort(b.Name, "3001"))
		requireUnreachable(t, c, net.JoinHostPort(d.Name, "27017"))
	})

	t.Run("name on no network", func(t *testing.T) {
		requireUnreachable(t, a, "no-such-container-anywhere:8080")
		requireUnreachable(t, c, "no-such-container-anywhere:8080")
	})

	t.Run("container on another network", func(t *testing.T) {
		requireUnreachable(t, a, target(c))
		requireUnreachable(t, c, target(a))
	})
}

func TestEnsureNetworkAcceptsTheSameAndRejectsADifferentNetwork(t *testing.T) {
	cli := swarmtest.Engine(t)
	name := tempNetwork(t, cli, true)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := swarmtest.EnsureNetwork(ctx, cli, name, true); err != nil {
		t.Fatalf("EnsureNetwork on the existing network: %v", err)
	}
	err := swarmtest.EnsureNetwork(ctx, cli, name, false)
	if err == nil || !strings.Contains(err.Error(), "internal true") {
		t.Fatalf("EnsureNetwork(internal=false) on an internal network: %v, want an error saying it is internal", err)
	}
	got, err := cli.NetworkInspect(ctx, name, network.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Driver != "overlay" || got.Scope != "swarm" || !got.Attachable || !got.Internal {
		t.Fatalf("network %s: driver %s scope %s attachable %t internal %t, want an attachable internal swarm overlay",
			name, got.Driver, got.Scope, got.Attachable, got.Internal)
	}
}
