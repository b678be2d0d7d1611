package swarmtest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"
	"github.com/gorilla/websocket"
)

// ProbeImage is the image StartProbe runs; scripts/build-images.sh netprobe builds it from
// ./internal/cmd/netprobe (no registry is reachable, so it is never pulled).
const ProbeImage = "backpack-test/netprobe:latest"

// ProbePort is the port netprobe listens on inside its container: another container on the
// same network reaches a probe at Name:ProbePort, which makes a probe a ready-made target.
const ProbePort = 8080

// probeStartTimeout bounds creating, starting and waiting for a probe.
const probeStartTimeout = 60 * time.Second

// Probe is a netprobe container attached to one network, through which a test on the host
// opens connections as if it were a container on that network.
type Probe struct {
	// Name is the container's name, which Docker's DNS resolves on Network.
	Name string
	// Network is the network the probe dials from.
	Network string
	// Addr is where the proxy listens on the host: 127.0.0.1 and the published port.
	Addr string

	// transport is shared by every HTTPClient, so its kept-alive connections are closed once,
	// at the test's end.
	transport *http.Transport
}

// StartProbe runs a netprobe container attached to the network (which must exist: see
// EnsureNetwork), publishing its port on 127.0.0.1 at a free port, and waits until it answers.
// On an internal network the probe is also on the default bridge, the only way a port can be
// published from it.
// The container is removed at the test's end; if the test failed, its log (one line per
// tunnel or failed dial) is logged first. Without the image the test skips (fails under CI).
func StartProbe(t testing.TB, cli *client.Client, networkName string) *Probe {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), probeStartTimeout)
	defer cancel()

	if _, err := cli.ImageInspect(ctx, ProbeImage); cerrdefs.IsNotFound(err) {
		missing(t, "image "+ProbeImage, "build it with scripts/build-images.sh netprobe")
	} else if err != nil {
		t.Fatalf("inspect image %s: %v", ProbeImage, err)
	}
	nw, err := cli.NetworkInspect(ctx, networkName, network.InspectOptions{})
	if err != nil {
		t.Fatalf("probe network %s: %v", networkName, err)
	}

	name := probeName(t.Name())
	port := nat.Port(strconv.Itoa(ProbePort) + "/tcp")
	created, err := cli.ContainerCreate(ctx,
		&container.Config{
			Image:        ProbeImage,
			Labels:       map[string]string{TestLabel: "1"},
			ExposedPorts: nat.PortSet{port: {}},
		},
		&container.HostConfig{
			NetworkMode: container.NetworkMode(networkName),
			// An empty host port: the engine picks a free one, read back below.
			PortBindings: nat.PortMap{port: {{HostIP: "127.0.0.1"}}},
		},
		&network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{networkName: {}}},
		nil, name)
	if err != nil {
		t.Fatalf("create probe container %s on %s: %v", name, networkName, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if t.Failed() {
			t.Logf("probe %s on %s, log:\n%s", name, networkName, containerLog(ctx, cli, created.ID))
		}
		if err := cli.ContainerRemove(ctx, created.ID, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("remove probe container %s: %v", name, err)
		}
	})
	if nw.Internal {
		// An internal network has no way out, so the engine cannot publish a port through it:
		// the default bridge carries the published port. Names still resolve only on the
		// internal network (the default bridge has no DNS), and swarm tasks are not on it.
		if err := cli.NetworkConnect(ctx, network.NetworkBridge, created.ID, nil); err != nil {
			t.Fatalf("connect probe %s to the default bridge for its published port: %v", name, err)
		}
	}
	if err := cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatalf("start probe container %s: %v", name, err)
	}
	inspected, err := cli.ContainerInspect(ctx, created.ID)
	if err != nil {
		t.Fatalf("inspect probe container %s: %v", name, err)
	}
	var hostPort string
	if inspected.NetworkSettings != nil {
		for _, b := range inspected.NetworkSettings.Ports[port] {
			if b.HostIP == "127.0.0.1" && b.HostPort != "" {
				hostPort = b.HostPort
			}
		}
	}
	if hostPort == "" {
		t.Fatalf("probe container %s: port %s not published on 127.0.0.1", name, port)
	}

	p := &Probe{Name: name, Network: networkName, Addr: net.JoinHostPort("127.0.0.1", hostPort)}
	p.transport = &http.Transport{DialContext: p.DialContext, IdleConnTimeout: 30 * time.Second}
	t.Cleanup(p.transport.CloseIdleConnections)
	if err := waitHealthy(ctx, cli, created.ID, p.Addr); err != nil {
		t.Fatalf("probe %s on %s: %v", name, networkName, err)
	}
	return p
}

// waitHealthy polls the proxy's GET /healthz until it answers 200, the container stops, or
// ctx ends.
func waitHealthy(ctx context.Context, cli *client.Client, id, addr string) error {
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
	if err != nil {
		return fmt.Errorf("health request: %w", err)
	}
	var last error
	for {
		resp, err := hc.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET /healthz: %s", resp.Status)
		}
		last = err
		c, err := cli.ContainerInspect(ctx, id)
		if err != nil {
			return fmt.Errorf("inspect while waiting for /healthz (last: %v): %w", last, err)
		}
		if c.State != nil && !c.State.Running {
			return fmt.Errorf("container %s (exit code %d) before answering /healthz", c.State.Status, c.State.ExitCode)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no answer on %s/healthz: %w (last: %v)", addr, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// containerLog is the end of a container's output, or why it could not be read.
func containerLog(ctx context.Context, cli *client.Client, id string) string {
	rc, err := cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: "100"})
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil {
		fmt.Fprintf(&out, "(log cut short: %v)", err)
	}
	return out.String()
}

// probeName is a container name unique to this probe that still says which test started it:
// "netprobe-", the test's name reduced to a DNS label's characters, then random hex.
func probeName(testName string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(testName) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	label := b.String()
	if len(label) > 40 {
		label = strings.TrimRight(label[:40], "-")
	}
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	if label == "" {
		return "netprobe-" + hex.EncodeToString(suffix[:])
	}
	return "netprobe-" + label + "-" + hex.EncodeToString(suffix[:])
}

// UnreachableError is what dialing through a probe returns when the probe itself could not
// open the connection (no such name on its network, nothing listening, no route): tests assert
// that a port is closed to a network with errors.As.
type UnreachableError struct {
	// Addr is the address that was dialled.
	Addr string
	// Network is the probe's network.
	Network string
	// Reason is the probe's dial error, e.g. "dial tcp 10.0.1.4:3001: connect: connection
	// refused" or "dial tcp: lookup shop_mongo on 127.0.0.11:53: no such host".
	Reason string
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("%s is unreachable from network %s: %s", e.Addr, e.Network, e.Reason)
}

// longAgo is a deadline in the past: setting it interrupts a blocked read or write.
var longAgo = time.Unix(1, 0)

// DialContext opens a TCP connection to addr (host:port, resolved by Docker's DNS on the
// probe's network) from inside the probe's network. When the probe cannot reach addr the error
// is an *UnreachableError; any other error means the probe itself could not be used.
func (p *Probe) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("dial %s %s through probe %s: only TCP is tunnelled", network, addr, p.Name)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", p.Addr)
	if err != nil {
		return nil, fmt.Errorf("dial probe %s at %s: %w", p.Name, p.Addr, err)
	}
	tunnel, err := p.connect(ctx, conn, addr)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	return tunnel, nil
}

// connect asks the probe on conn to open a tunnel to addr, honouring ctx's deadline and
// cancellation until the probe has answered.
func (p *Probe) connect(ctx context.Context, conn net.Conn, addr string) (net.Conn, error) {
	// Only ctx interrupts the exchange (its deadline ends it too): a connection deadline
	// racing ctx's timer could fail the read before ctx reports why.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(longAgo) })
	resp, br, body, err := p.roundTrip(conn, addr)
	if !stop() {
		return nil, fmt.Errorf("CONNECT %s through probe %s: %w", addr, p.Name, ctx.Err())
	}
	if err != nil {
		return nil, err
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("probe %s: clear deadline: %w", p.Name, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if br.Buffered() > 0 {
			// The target spoke first and its first bytes came with the probe's answer.
			return &bufferedConn{Conn: conn, r: br}, nil
		}
		return conn, nil
	case http.StatusBadGateway:
		return nil, &UnreachableError{Addr: addr, Network: p.Network, Reason: body}
	default:
		return nil, fmt.Errorf("CONNECT %s through probe %s: %s: %s", addr, p.Name, resp.Status, body)
	}
}

// roundTrip sends CONNECT addr on conn and reads the answer: on success the reader holds
// whatever followed it; otherwise the body (the probe's reason) is read.
func (p *Probe) roundTrip(conn net.Conn, addr string) (*http.Response, *bufio.Reader, string, error) {
	if _, err := fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", addr, addr); err != nil {
		return nil, nil, "", fmt.Errorf("CONNECT %s through probe %s: send: %w", addr, p.Name, err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return nil, nil, "", fmt.Errorf("CONNECT %s through probe %s: read answer: %w", addr, p.Name, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, br, "", nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if err != nil {
		return nil, nil, "", fmt.Errorf("CONNECT %s through probe %s: read %s answer: %w", addr, p.Name, resp.Status, err)
	}
	return resp, br, strings.TrimSpace(string(body)), nil
}

// bufferedConn is a tunnel whose first bytes were read along with the probe's answer.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// HTTPClient is an HTTP client whose every connection is opened through the probe, whatever
// the URL's host: http://shop_api:3000/... reaches the service the way Traefik does on
// backpack_public. Set req.Host to send the Host header Traefik would (e.g. shop-be.DOMAIN).
// It has no overall timeout: give requests a context with a deadline.
func (p *Probe) HTTPClient() *http.Client {
	return &http.Client{Transport: p.transport}
}

// WebsocketDialer is a websocket dialer whose connections are opened through the probe, for
// the realtime endpoints behind Traefik.
func (p *Probe) WebsocketDialer() *websocket.Dialer {
	return &websocket.Dialer{NetDialContext: p.DialContext, HandshakeTimeout: 10 * time.Second}
}

// Reachable reports whether a TCP connection to addr can be opened from the probe's network:
// nil if so, an *UnreachableError if the probe could not connect, another error if the probe
// could not be used.
func (p *Probe) Reachable(ctx context.Context, addr string) error {
	conn, err := p.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	if err := conn.Close(); err != nil {
		return fmt.Errorf("close connection to %s through probe %s: %w", addr, p.Name, err)
	}
	return nil
}
