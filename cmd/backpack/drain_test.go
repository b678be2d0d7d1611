package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/flagenv"
	"github.com/gorilla/websocket"
)

// TestServeDrains: told to stop, the control plane keeps serving for its drain while /readyz
// answers 503 draining (and `backpack healthcheck` fails saying so); when the drain is over
// the panel's live list (an event stream) ends, websockets (a backend's own and one proxied to
// its admin port) are closed with 1001 going away, and then run returns cleanly.
func TestServeDrains(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	d := startDevWith(t, t.TempDir(), "--drain", "4s")
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+d.port)
		}}}
	base := "http://admin.localhost:" + d.port
	get := func(path string) (int, map[string]any) {
		t.Helper()
		res, err := client.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	healthcheck := func() error {
		return run(context.Background(), []string{"healthcheck", "--port", d.port, "--listen-host", "127.0.0.1"},
			func(string) string { return "" }, io.Discard, io.Discard)
	}
	body, _ := json.Marshal(map[string]string{"email": "op@example.com", "password": "a long password"})
	res, err := client.Post(base+"/api/auth/register", "application/json", bytes.NewReader(body))
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("register: %v %v", res, err)
	}
	res.Body.Close()
	if err := healthcheck(); err != nil {
		t.Fatalf("healthcheck of a ready control plane: %v", err)
	}
	key := runningBackend(t, client, base, "shop")
	dialer := websocket.Dialer{Jar: jar, HandshakeTimeout: 5 * time.Second,
		NetDialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+d.port)
		}}
	// Two websockets: one to the backend's API (served in-process by the local runtime), one
	// through the control plane's proxy to the backend's admin port.
	sockets := map[string]<-chan error{}
	for what, url := range map[string]string{
		"the backend's websocket":     "ws://shop-be.localhost:" + d.port + "/ws?apiKey=" + key,
		"the proxied admin websocket": "ws://admin.localhost:" + d.port + "/api/backends/shop/admin/ws",
	} {
		ws, res, err := dialer.Dial(url, nil)
		if err != nil {
			t.Fatalf("%s: %v %v", what, res, err)
		}
		defer ws.Close()
		closed := make(chan error, 1)
		go func() {
			_ = ws.SetReadDeadline(time.Now().Add(60 * time.Second))
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					closed <- err
					return
				}
			}
		}()
		sockets[what] = closed
	}

	stream, err := client.Get(base + "/api/events")
	if err != nil || stream.StatusCode != http.StatusOK {
		t.Fatalf("live list: %v %v", stream, err)
	}
	defer stream.Body.Close()
	lines := bufio.NewReader(stream.Body)
	if first, err := lines.ReadString('\n'); err != nil || !strings.HasPrefix(first, "event: backends") {
		t.Fatalf("live list began with %q, %v", first, err)
	}
	ended := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, lines)
		ended <- err
	}()

	d.signal()
	deadline := time.Now().Add(10 * time.Second)
	var ready map[string]any
	for {
		status, out := get("/readyz")
		if status == http.StatusServiceUnavailable {
			ready = out
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still answers %d %v after the signal", status, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if e, _ := ready["error"].(map[string]any); e["code"] != "draining" {
		t.Fatalf("/readyz while draining = %v, want the error code draining", ready)
	}
	if status, out := get("/api/auth/me"); status != http.StatusOK {
		t.Fatalf("a request during the drain: %d %v", status, out)
	}
	if err := healthcheck(); err == nil || !strings.Contains(err.Error(), "draining") {
		t.Fatalf("healthcheck while draining: %v, want an error naming draining", err)
	}
	select {
	case err := <-ended:
		t.Fatalf("the live list ended during the drain: %v", err)
	default:
	}
	for what, closed := range sockets {
		select {
		case err := <-closed:
			t.Fatalf("%s closed during the drain: %v", what, err)
		default:
		}
	}

	select {
	case err := <-ended:
		if err != nil {
			t.Fatalf("the live list ended with %v, want its clean end", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the live list did not end after the drain")
	}
	for what, closed := range sockets {
		select {
		case err := <-closed:
			if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
				t.Errorf("%s ended with %v, want close 1001 going away", what, err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("%s was not closed after the drain", what)
		}
	}
	if err := d.wait(); err != nil {
		t.Fatalf("backpack dev stopped with %v", err)
	}
	if err := healthcheck(); err == nil {
		t.Fatal("healthcheck succeeded with no server")
	}
}

// TestDrainSetting: `backpack serve` sits behind Traefik and drains for flagenv.DefaultDrain
// by default; `backpack dev` has no load balancer in front and does not.
func TestDrainSetting(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	serveEnv := map[string]string{"DATABASE_URL": "postgres://x", "BACKPACK_DOMAIN": "example.com", "BACKPACK_SECRET_KEY": "k"}
	for _, tc := range []struct {
		dev  bool
		args []string
		env  map[string]string
		want time.Duration
	}{
		{false, nil, serveEnv, flagenv.DefaultDrain},
		{false, []string{"--drain", "12s"}, serveEnv, 12 * time.Second},
		{true, nil, nil, 0},
		{true, nil, map[string]string{"BACKPACK_DRAIN": "3s"}, 3 * time.Second},
	} {
		s, err := parseSettings(tc.dev, tc.args, env(tc.env))
		if err != nil || s.drain != tc.want {
			t.Errorf("dev %v %v: drain %s, %v; want %s", tc.dev, tc.args, s.drain, err, tc.want)
		}
	}
	if _, err := parseSettings(true, nil, env(map[string]string{"BACKPACK_DRAIN": "5"})); err == nil || !strings.Contains(err.Error(), "BACKPACK_DRAIN") {
		t.Errorf("a drain without a unit: %v", err)
	}
}

// runningBackend creates backend name as the signed-in developer of client and returns its
// API key once it runs.
func runningBackend(t *testing.T, client *http.Client, base, name string) string {
	t.Helper()
	send := func(method, path string, body any) (int, map[string]any) {
		t.Helper()
		var r io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, base+path, r)
		req.Header.Set("Content-Type", "application/json")
		u, _ := url.Parse(base)
		for _, c := range client.Jar.Cookies(u) {
			if c.Name == "bkpk_csrf" {
				req.Header.Set("X-CSRF-Token", c.Value)
			}
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	if status, out := send(http.MethodPost, "/api/backends", map[string]string{"name": name}); status != http.StatusAccepted {
		t.Fatalf("create backend %s: %d %v", name, status, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, b := send(http.MethodGet, "/api/backends/"+name, nil); b["state"] == "running" {
			return b["apiKey"].(string)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("backend %s never ran", name)
	return ""
}
