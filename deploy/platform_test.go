// Package deploy_test runs the platform stack (deploy/platform.yml) on the local single-node
// Swarm, as an operator would deploy it, with the offline test images and without Traefik
// (which cannot be built here), and drives the whole life of backends through the control
// plane's HTTP API, reaching the backends' services from backpack_public exactly as Traefik
// forwards to them.
package deploy_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/backpackhq/backpack/controlplane/runtime/swarm"
	"github.com/backpackhq/backpack/controlplane/runtime/swarm/convert"
	"github.com/backpackhq/backpack/internal/swarmtest"
	"github.com/backpackhq/backpack/internal/testenv"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	dockerswarm "github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
)

// platformStack is the stack name the tests deploy the platform under (operators use
// "backpack"); the external networks and secrets are the real ones.
const platformStack = "bptest"

// platform is a deployed platform stack and a developer signed in to its control plane.
type platform struct {
	t    testing.TB
	cli  *client.Client
	base string // the control plane, http://127.0.0.1:PORT
	http *http.Client
	csrf string
	// created are the backends asked for, removed with their data when the test ends
	// whatever happened to them.
	created []string
}

// deployPlatform deploys deploy/platform.yml with the direct-port overlay, waits for the control
// plane to be ready, registers a developer, and removes the whole stack when the test ends.
func deployPlatform(t testing.TB) *platform {
	t.Helper()
	cli := swarmtest.Engine(t)
	swarmtest.RequireImages(t, cli, append(swarmtest.StackImages(), swarmtest.ControlPlaneImage, swarmtest.PostgresImage)...)
	if _, err := exec.LookPath("docker"); err != nil {
		testenv.Missing(t, "the docker CLI (deploying the platform stack is the operator's docker stack deploy)")
	}
	ctx := context.Background()
	for _, n := range []struct {
		name     string
		internal bool
	}{{swarm.PublicNetwork, false}, {swarm.AdminNetwork, true}} {
		if err := swarmtest.EnsureNetwork(ctx, cli, n.name, n.internal); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"backpack_secret_key", "backpack_postgres_password"} {
		ensureSecret(t, cli, name)
	}
	var sock syscall.Stat_t
	if err := syscall.Stat("/var/run/docker.sock", &sock); err != nil {
		t.Fatalf("docker socket: %v", err)
	}
	_, port, _ := strings.Cut(testenv.FreeAddr(t), ":")
	env := append(os.Environ(),
		"BACKPACK_DOMAIN=localhost", "BACKPACK_TLS=false", "BACKPACK_ENTRYPOINTS=web", "BACKPACK_PUBLIC_SCHEME=http",
		"BACKPACK_TRAEFIK_REPLICAS=0", "BACKPACK_DOCKER_GID="+strconv.Itoa(int(sock.Gid)), "BACKPACK_CONTROLPLANE_PORT="+port,
		"BACKPACK_IMAGE="+swarmtest.ControlPlaneImage, "BACKPACK_POSTGRES_IMAGE="+swarmtest.PostgresImage,
		"BACKPACK_API_IMAGE="+swarmtest.APIImage, "BACKPACK_MONGO_IMAGE="+swarmtest.MongoImage,
		"BACKPACK_REDIS_IMAGE="+swarmtest.RedisImage, "BACKPACK_WEB_IMAGE="+swarmtest.WebImage,
		"BACKPACK_MAX_BACKENDS_PER_DEVELOPER=0")
	var p *platform
	t.Cleanup(func() { removePlatform(t, cli, p) })
	cmd := exec.Command("docker", "stack", "deploy", "--resolve-image", "never",
		"-c", "platform.yml", "-c", "platform.direct-port.yml", platformStack)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker stack deploy: %v\n%s", err, out)
	}
	jar, _ := cookiejar.New(nil)
	p = &platform{t: t, cli: cli, base: "http://127.0.0.1:" + port, http: &http.Client{Jar: jar, Timeout: time.Minute}}
	p.waitReady(3 * time.Minute)
	var out struct {
		CSRFToken string `json:"csrfToken"`
	}
	p.mustStatus(http.StatusCreated, p.send(http.MethodPost, "/api/auth/register",
		map[string]string{"email": "dev@example.com", "password": "a long password"})).decode(&out)
	p.csrf = out.CSRFToken
	return p
}

// ensureSecret creates a platform secret with random data unless it exists.
func ensureSecret(t testing.TB, cli *client.Client, name string) {
	t.Helper()
	ctx := context.Background()
	list, err := cli.SecretList(ctx, dockerswarm.SecretListOptions{Filters: filters.NewArgs(filters.Arg("name", name))})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.Spec.Name == name {
			return
		}
	}
	data := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, data); err != nil {
		t.Fatal(err)
	}
	encoded := fmt.Sprintf("%x", data)
	if _, err := cli.SecretCreate(ctx, dockerswarm.SecretSpec{Annotations: dockerswarm.Annotations{Name: name}, Data: []byte(encoded)}); err != nil {
		t.Fatalf("create secret %s: %v", name, err)
	}
}

// removePlatform removes the stack like `docker stack rm`, then its volumes (the control plane's
// database) once its containers are gone, then what is left of the backends it was asked for,
// so the next run starts from nothing.
func removePlatform(t testing.TB, cli *client.Client, p *platform) {
	if t.Failed() {
		logs, _ := exec.Command("docker", "service", "logs", "--tail", "80", platformStack+"_controlplane").CombinedOutput()
		t.Logf("control plane logs:\n%s", logs)
	}
	if out, err := exec.Command("docker", "stack", "rm", platformStack).CombinedOutput(); err != nil {
		t.Errorf("docker stack rm: %v\n%s", err, out)
	}
	ctx := context.Background()
	f := filters.NewArgs(filters.Arg("label", convert.LabelNamespace+"="+platformStack))
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		left, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
		if err == nil && len(left) == 0 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if p != nil && len(p.created) > 0 {
		rt, err := swarm.New(ctx, swarm.Config{Engine: cli, Domain: "localhost"})
		if err != nil {
			t.Error(err)
		}
		for _, name := range p.created {
			if err := rt.Remove(ctx, name, true, func(string) {}); err != nil {
				t.Errorf("remove backend %s: %v", name, err)
			}
		}
	}
	vols, err := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
	if err != nil {
		t.Error(err)
		return
	}
	for _, v := range vols.Volumes {
		for i := 0; i < 20; i++ {
			if err := cli.VolumeRemove(ctx, v.Name, false); err == nil {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
}

func (p *platform) waitReady(within time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(500 * time.Millisecond)
	}
	p.t.Fatalf("the control plane is not ready after %s: %s", within, last)
}

type answer struct {
	t      testing.TB
	status int
	body   []byte
}

func (a answer) decode(v any) {
	a.t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		a.t.Fatalf("decode %s: %v", a.body, err)
	}
}

func (p *platform) raw(method, path string, body io.Reader, contentType string) answer {
	p.t.Helper()
	req, err := http.NewRequest(method, p.base+path, body)
	if err != nil {
		p.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("X-CSRF-Token", p.csrf)
	return do(p.t, p.http, req)
}

func (p *platform) send(method, path string, body any) answer {
	p.t.Helper()
	if body == nil {
		return p.raw(method, path, nil, "")
	}
	b, _ := json.Marshal(body)
	return p.raw(method, path, bytes.NewReader(b), "application/json")
}

func (p *platform) mustStatus(status int, a answer) answer {
	p.t.Helper()
	if a.status != status {
		p.t.Fatalf("got %d %s, want %d", a.status, a.body, status)
	}
	return a
}

func do(t testing.TB, c *http.Client, req *http.Request) answer {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{t: t, status: resp.StatusCode, body: b}
}

// backend is what GET /api/backends/NAME answers.
type backend struct {
	Name      string `json:"name"`
	State     string `json:"state"`
	APIKey    string `json:"apiKey"`
	LastError string `json:"lastError"`
}

func (p *platform) backend(name string) (backend, int) {
	p.t.Helper()
	a := p.send(http.MethodGet, "/api/backends/"+name, nil)
	var b backend
	if a.status == http.StatusOK {
		a.decode(&b)
	}
	return b, a.status
}

// waitState polls the backend until it is in state.
func (p *platform) waitState(name, state string, within time.Duration) backend {
	p.t.Helper()
	deadline := time.Now().Add(within)
	var b backend
	for time.Now().Before(deadline) {
		b, _ = p.backend(name)
		if b.State == state {
			return b
		}
		time.Sleep(250 * time.Millisecond)
	}
	p.t.Fatalf("backend %s is %q (last error %q), not %s, after %s", name, b.State, b.LastError, state, within)
	return b
}

// create asks for a backend and waits until it runs.
func (p *platform) create(name string) backend {
	p.t.Helper()
	p.ask(name)
	return p.waitState(name, "running", 4*time.Minute)
}

// ask asks for a backend without waiting.
func (p *platform) ask(name string) {
	p.t.Helper()
	if !slices.Contains(p.created, name) {
		p.created = append(p.created, name)
	}
	p.mustStatus(http.StatusAccepted, p.send(http.MethodPost, "/api/backends", map[string]string{"name": name}))
}

func siteZip(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(content))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// endUser talks to a backend's api service over backpack_public, as Traefik forwards requests:
// to the task, port 3000, with the public host name. It signs in with a bearer token (the
// SDK's token mode), since the tasks' names are not the hosts a browser keeps cookies for.
type endUser struct {
	t      testing.TB
	http   *http.Client
	name   string
	apiKey string
	token  string
}

func newEndUser(t testing.TB, probe *swarmtest.Probe, name, apiKey string) *endUser {
	return &endUser{t: t, http: probe.HTTPClient(), name: name, apiKey: apiKey}
}

// login gets a session token for the user's next requests.
func (u *endUser) login(email, password string) {
	u.t.Helper()
	var out struct {
		Token string `json:"token"`
	}
	u.mustStatus(http.StatusOK, u.send(http.MethodPost, "/auth/token", map[string]string{"email": email, "password": password})).decode(&out)
	if out.Token == "" {
		u.t.Fatal("no token from /auth/token")
	}
	u.token = out.Token
}

func (u *endUser) url(path string) string { return "http://" + u.name + "_api:3000" + path }

func (u *endUser) send(method, path string, body any) answer {
	u.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u.url(path), r)
	if err != nil {
		u.t.Fatal(err)
	}
	req.Host = u.name + "-be.localhost"
	req.Header.Set("X-API-Key", u.apiKey)
	req.Header.Set("Origin", "http://"+u.name+".localhost")
	if u.token != "" {
		req.Header.Set("Authorization", "Bearer "+u.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return do(u.t, u.http, req)
}

func (u *endUser) mustStatus(status int, a answer) answer {
	u.t.Helper()
	if a.status != status {
		u.t.Fatalf("end user: got %d %s, want %d", a.status, a.body, status)
	}
	return a
}

// siteGet fetches a path of the backend's site from its web service, as Traefik would.
func siteGet(t testing.TB, c *http.Client, name, path string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+name+"_web:80"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = name + ".localhost"
	return do(t, c, req)
}
