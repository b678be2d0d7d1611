// Package platformtest deploys Backpack's platform stack (deploy/platform.yml) on the local
// Swarm as an operator would, with `docker stack deploy` and the offline test images, and gives
// end-to-end tests and benchmarks a signed-in developer and clients that reach it the way users
// do. With TLS, Traefik fronts everything on ports 80 and 443 and Pebble (deploy/
// platform.pebble.yml) issues real ACME certificates for DOMAIN's names; clients resolve every
// name of DOMAIN to 127.0.0.1 and trust Pebble's root, as a browser on the server would.
//
// Several test binaries share it (the platform tests in ./deploy, the browser tests in
// ./deploy/browser), one platform at a time: the stack name, host ports and the platform's
// secrets are the machine's.
package platformtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/backpackhq/backpack/controlplane/runtime/swarm"
	"github.com/backpackhq/backpack/internal/swarmtest"
	"github.com/backpackhq/backpack/internal/testenv"
	"github.com/docker/docker/client"
)

// Stack is the stack name the tests deploy the platform under (operators use "backpack").
const Stack = "bptest"

// The images the platform runs in tests besides the backend stack's: scripts/build-images.sh
// builds them from the module proxy.
const (
	TraefikImage = "backpack-test/traefik:v3.6.2"
	PebbleImage  = "backpack-test/pebble:v2.10.3"
)

// TLSDomain is the domain of the HTTPS platform: .test is reserved (RFC 2606), so no name of it
// can be anyone's on the internet, and Pebble issues for it.
const TLSDomain = "backpack.test"

// Options chooses how the platform is deployed.
type Options struct {
	// Traefik runs the platform's Traefik on the host's ports 80 and 443, and clients go
	// through it; without it the control plane's port is published on the host
	// (deploy/platform.direct-port.yml) and backends are reached over backpack_public.
	Traefik bool
	// TLS (which needs Traefik) serves every name over HTTPS with certificates from Pebble, on
	// TLSDomain; without it the domain is localhost, over plain HTTP.
	TLS bool
	// Env adds or overrides variables of the deployment (KEY=VALUE), e.g. another image.
	Env []string
}

// Platform is a deployed platform stack and a developer signed in to its control plane.
type Platform struct {
	T    testing.TB
	Cli  *client.Client
	Opts Options
	// Domain is the parent domain of admin.DOMAIN, NAME.DOMAIN and NAME-be.DOMAIN.
	Domain string
	// Admin is the control plane's base URL: https://admin.DOMAIN with TLS, http://admin.
	// localhost with Traefik alone, else http://127.0.0.1:PORT.
	Admin string
	// HTTP is the developer's client, with the session and CSRF cookies.
	HTTP *http.Client
	// CSRF is the developer's CSRF token, sent with every state-changing request.
	CSRF string
	// Roots trusts Pebble's root (nil without TLS).
	Roots *x509.CertPool
	// Created are the backends asked for, removed with their data when the test ends whatever
	// happened to them.
	Created []string

	env     []string
	dir     string
	rootPEM []byte
	probe   *swarmtest.Probe
	secrets []string
	nets    []string
}

// Deploy deploys the platform, waits for the control plane to be ready (with TLS: to answer
// over HTTPS with Pebble's certificate), registers a developer, and removes everything when the
// test ends: stacks, the backends it was asked for, volumes, and the secrets and networks it
// had to create.
func Deploy(t testing.TB, opts Options) *Platform {
	t.Helper()
	if opts.TLS && !opts.Traefik {
		t.Fatal("platformtest: TLS needs Traefik")
	}
	cli := swarmtest.Engine(t)
	images := append(swarmtest.StackImages(), swarmtest.ControlPlaneImage, swarmtest.PostgresImage)
	if opts.Traefik {
		images = append(images, TraefikImage)
	}
	if opts.TLS {
		images = append(images, PebbleImage)
	}
	swarmtest.RequireImages(t, cli, images...)
	if _, err := exec.LookPath("docker"); err != nil {
		testenv.Missing(t, "the docker CLI (deploying the platform stack is the operator's docker stack deploy)")
	}
	lockMachine(t)
	p := &Platform{T: t, Cli: cli, Opts: opts, Domain: "localhost", dir: deployDir(t)}
	t.Cleanup(func() { p.remove() })
	p.prepare()

	var sock syscall.Stat_t
	if err := syscall.Stat("/var/run/docker.sock", &sock); err != nil {
		t.Fatalf("docker socket: %v", err)
	}
	p.env = []string{
		"BACKPACK_DOCKER_GID=" + strconv.Itoa(int(sock.Gid)),
		"BACKPACK_IMAGE=" + swarmtest.ControlPlaneImage, "BACKPACK_POSTGRES_IMAGE=" + swarmtest.PostgresImage,
		"BACKPACK_API_IMAGE=" + swarmtest.APIImage, "BACKPACK_MONGO_IMAGE=" + swarmtest.MongoImage,
		"BACKPACK_REDIS_IMAGE=" + swarmtest.RedisImage, "BACKPACK_WEB_IMAGE=" + swarmtest.WebImage,
		"BACKPACK_TRAEFIK_IMAGE=" + TraefikImage, "BACKPACK_PEBBLE_IMAGE=" + PebbleImage,
		"BACKPACK_MAX_BACKENDS_PER_DEVELOPER=0",
	}
	switch {
	case opts.TLS:
		p.Domain = TLSDomain
		p.Admin = "https://admin." + p.Domain
		p.env = append(p.env, "BACKPACK_DOMAIN="+p.Domain, "BACKPACK_ACME_EMAIL=ops@example.com")
	case opts.Traefik:
		p.Admin = "http://admin.localhost"
		p.env = append(p.env, "BACKPACK_DOMAIN=localhost", "BACKPACK_TLS=false", "BACKPACK_ENTRYPOINTS=web",
			"BACKPACK_PUBLIC_SCHEME=http")
	default:
		_, port, _ := strings.Cut(testenv.FreeAddr(t), ":")
		p.Admin = "http://127.0.0.1:" + port
		p.env = append(p.env, "BACKPACK_DOMAIN=localhost", "BACKPACK_TLS=false", "BACKPACK_ENTRYPOINTS=web",
			"BACKPACK_PUBLIC_SCHEME=http", "BACKPACK_TRAEFIK_REPLICAS=0", "BACKPACK_CONTROLPLANE_PORT="+port)
	}
	p.env = append(p.env, opts.Env...)
	p.StackDeploy()
	if opts.TLS {
		p.Roots = p.pebbleRoots()
	}
	jar, _ := cookiejar.New(nil)
	p.HTTP = p.Client(jar)
	p.WaitReady(4 * time.Minute)
	var out struct {
		CSRFToken string `json:"csrfToken"`
	}
	p.MustStatus(http.StatusCreated, p.Send(http.MethodPost, "/api/auth/register",
		map[string]string{"email": "dev@example.com", "password": "a long password"})).Decode(&out)
	p.CSRF = out.CSRFToken
	return p
}

// StackDeploy runs `docker stack deploy` with the platform's files and environment, extra
// (KEY=VALUE) last so that it wins: the first deployment, or an update of the running one.
func (p *Platform) StackDeploy(extra ...string) {
	p.T.Helper()
	args := []string{"stack", "deploy", "--resolve-image", "never", "-c", "platform.yml"}
	switch {
	case p.Opts.TLS:
		args = append(args, "-c", "platform.pebble.yml")
	case !p.Opts.Traefik:
		args = append(args, "-c", "platform.direct-port.yml")
	}
	cmd := exec.Command("docker", append(args, Stack)...)
	cmd.Dir = p.dir
	p.env = append(p.env, extra...)
	cmd.Env = append(os.Environ(), p.env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		p.T.Fatalf("docker stack deploy: %v\n%s", err, out)
	}
}

// lockFile is held by the test binary that has a platform deployed: the stack name, the host
// ports and the platform's secrets are the machine's, so a second test binary (go test runs
// packages in parallel) waits for the first to finish rather than collide with it.
const lockFile = "/tmp/backpack-platformtest.lock"

// lockMachine takes lockFile until the test ends, waiting as long as another test binary has it.
func lockMachine(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(lockFile, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("platformtest: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Logf("platformtest: another test has a platform deployed; waiting for it (%s)", lockFile)
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			t.Fatalf("platformtest: lock %s: %v", lockFile, err)
		}
	}
	t.Cleanup(func() { _ = f.Close() })
}

// deployDir is the repository's deploy/ directory, where the platform's compose files are.
func deployDir(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("platformtest: cannot find its own source file")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "deploy")
}

// WaitReady waits until the control plane's /readyz answers 200 at p.Admin, which with TLS
// also means Traefik routes to it and serves a certificate Pebble issued.
func (p *Platform) WaitReady(within time.Duration) {
	p.T.Helper()
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		resp, err := p.HTTP.Get(p.Admin + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
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
	p.T.Fatalf("the control plane is not ready at %s after %s: %s", p.Admin, within, last)
}

// Answer is a response read whole.
type Answer struct {
	T      testing.TB
	Status int
	Header http.Header
	Body   []byte
	// Proto is the protocol it came over ("HTTP/2.0" through Traefik with TLS).
	Proto string
	// TLS is the connection's TLS state (nil over plain HTTP).
	TLS *tls.ConnectionState
}

// Decode unmarshals the body into v, failing the test if it cannot.
func (a Answer) Decode(v any) {
	a.T.Helper()
	if err := json.Unmarshal(a.Body, v); err != nil {
		a.T.Fatalf("decode %s: %v", a.Body, err)
	}
}

// Raw sends a request to the control plane as the developer.
func (p *Platform) Raw(method, path string, body io.Reader, contentType string) Answer {
	p.T.Helper()
	req, err := http.NewRequest(method, p.Admin+path, body)
	if err != nil {
		p.T.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("X-CSRF-Token", p.CSRF)
	return Do(p.T, p.HTTP, req)
}

// Send sends body as JSON (none if nil) to the control plane as the developer.
func (p *Platform) Send(method, path string, body any) Answer {
	p.T.Helper()
	if body == nil {
		return p.Raw(method, path, nil, "")
	}
	b, _ := json.Marshal(body)
	return p.Raw(method, path, bytes.NewReader(b), "application/json")
}

// MustStatus fails the test unless a has the status.
func (p *Platform) MustStatus(status int, a Answer) Answer {
	p.T.Helper()
	if a.Status != status {
		p.T.Fatalf("got %d %s, want %d", a.Status, a.Body, status)
	}
	return a
}

// Do sends req with c and reads the whole answer, failing the test if it cannot be sent.
func Do(t testing.TB, c *http.Client, req *http.Request) Answer {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return Answer{T: t, Status: resp.StatusCode, Header: resp.Header, Body: b, Proto: resp.Proto, TLS: resp.TLS}
}

// Backend is what GET /api/backends/NAME answers.
type Backend struct {
	Name      string `json:"name"`
	State     string `json:"state"`
	APIKey    string `json:"apiKey"`
	LastError string `json:"lastError"`
	// Node is the swarm node (its backpack.node label) the backend's data lives on.
	Node     string `json:"node"`
	Replicas struct {
		API int `json:"api"`
	} `json:"replicas"`
	APIImage  string    `json:"apiImage"`
	Upgrading bool      `json:"upgrading"`
	Services  []Service `json:"services"`
}

// Service is one service of a backend as the control plane reports it.
type Service struct {
	Name    string `json:"name"`
	Running int    `json:"running"`
	Desired int    `json:"desired"`
}

// SetAPIReplicas asks for n API replicas of the backend and waits until the control plane
// reports n of them running (of the present spec) and the backend running.
func (p *Platform) SetAPIReplicas(name string, n int, within time.Duration) Backend {
	p.T.Helper()
	p.MustStatus(http.StatusOK, p.Send(http.MethodPatch, "/api/backends/"+name, map[string]any{"replicas": map[string]int{"api": n}}))
	return p.WaitBackend(name, fmt.Sprintf("running %d API replicas", n), within, func(b Backend) bool {
		for _, s := range b.Services {
			if s.Name == "api" {
				return b.State == "running" && s.Desired == n && s.Running == n
			}
		}
		return false
	})
}

// WaitBackend polls the backend until ok says it is as wanted (what says how, for the failure).
func (p *Platform) WaitBackend(name, what string, within time.Duration, ok func(Backend) bool) Backend {
	p.T.Helper()
	deadline := time.Now().Add(within)
	var b Backend
	for time.Now().Before(deadline) {
		b, _ = p.Backend(name)
		if ok(b) {
			return b
		}
		time.Sleep(250 * time.Millisecond)
	}
	p.T.Fatalf("backend %s is not %s after %s: %+v", name, what, within, b)
	return b
}

// Backend asks the control plane for the backend and returns it with the answer's status.
func (p *Platform) Backend(name string) (Backend, int) {
	p.T.Helper()
	a := p.Send(http.MethodGet, "/api/backends/"+name, nil)
	var b Backend
	if a.Status == http.StatusOK {
		a.Decode(&b)
	}
	return b, a.Status
}

// WaitState polls the backend until it is in state.
func (p *Platform) WaitState(name, state string, within time.Duration) Backend {
	p.T.Helper()
	deadline := time.Now().Add(within)
	var b Backend
	for time.Now().Before(deadline) {
		b, _ = p.Backend(name)
		if b.State == state {
			return b
		}
		time.Sleep(250 * time.Millisecond)
	}
	p.T.Fatalf("backend %s is %q (last error %q), not %s, after %s", name, b.State, b.LastError, state, within)
	return b
}

// Create asks for a backend and waits until it runs.
func (p *Platform) Create(name string) Backend {
	p.T.Helper()
	p.Ask(name)
	return p.WaitState(name, "running", 4*time.Minute)
}

// Ask asks for a backend without waiting.
func (p *Platform) Ask(name string) {
	p.T.Helper()
	if !slices.Contains(p.Created, name) {
		p.Created = append(p.Created, name)
	}
	p.MustStatus(http.StatusAccepted, p.Send(http.MethodPost, "/api/backends", map[string]string{"name": name}))
}

// WaitGone waits until a deleted backend is no longer listed.
func (p *Platform) WaitGone(name string, within time.Duration) {
	p.T.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if _, status := p.Backend(name); status == http.StatusNotFound {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	p.T.Fatalf("backend %s is still listed after %s", name, within)
}

// UniqueName keeps runs apart: a name's data outlives a delete that keeps it.
func UniqueName(prefix string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// ServiceLogs returns the last lines of a service of the platform stack (SERVICE is the short
// name, e.g. controlplane), for a failing test's log.
func ServiceLogs(service string, lines int) string {
	out, err := exec.Command("docker", "service", "logs", "--tail", strconv.Itoa(lines), Stack+"_"+service).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("docker service logs %s: %v\n%s", service, err, out)
	}
	return string(out)
}

// PublicNetwork and AdminNetwork are the external networks the platform and backends share.
var externalNetworks = []struct {
	name     string
	internal bool
}{{swarm.PublicNetwork, false}, {swarm.AdminNetwork, true}}

// prepare creates what platform.yml expects to exist (the external networks and secrets),
// remembering what it made so that remove takes it away again.
func (p *Platform) prepare() {
	ctx := context.Background()
	for _, n := range externalNetworks {
		existed := networkExists(ctx, p.Cli, n.name)
		if err := swarmtest.EnsureNetwork(ctx, p.Cli, n.name, n.internal); err != nil {
			p.T.Fatal(err)
		}
		if !existed {
			p.nets = append(p.nets, n.name)
		}
	}
	for _, name := range []string{"backpack_secret_key", "backpack_postgres_password"} {
		if createSecret(p.T, p.Cli, name) {
			p.secrets = append(p.secrets, name)
		}
	}
}

// Env returns the deployment's value of a variable ("" if unset).
func (p *Platform) Env(key string) string {
	for i := len(p.env) - 1; i >= 0; i-- {
		if k, v, _ := strings.Cut(p.env[i], "="); k == key {
			return v
		}
	}
	return ""
}
