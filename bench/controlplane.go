package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"
)

// scenarioControlPlane measures a real `backpack dev` process: how soon a new backend answers
// its first API request, the idle process's memory as backends are added, and the backend
// listing with many backends.
const scenarioControlPlane = "controlplane"

// Control plane timing.
const (
	// cpPollEvery is the pause between attempts at a new backend's first request.
	cpPollEvery = 5 * time.Millisecond
	// cpFirstAnswerTimeout bounds the wait for one new backend's first successful answer.
	cpFirstAnswerTimeout = time.Minute
	// cpStartTimeout bounds the wait for the started process to listen.
	cpStartTimeout = time.Minute
	// cpStopTimeout is how long the process gets to shut down after SIGTERM before it is
	// killed.
	cpStopTimeout = 30 * time.Second
	// cpBackendPrefix starts every backend name the scenario creates.
	cpBackendPrefix = "bench-"
)

// controlPlaneConfig is one control plane run. Backends are created one after another and
// never deleted, so the memory steps, the timed creations and the listing share them: the
// i-th timed creation happens with i backends already running.
type controlPlaneConfig struct {
	// createSamples is how many creations are timed from the request to the backend's first
	// successful API answer, one at a time.
	createSamples int
	// memorySteps are the numbers of running backends at which the idle process's resident
	// memory is read, in increasing order.
	memorySteps []int
	// listBackends is how many backends exist while GET /api/backends is measured: first
	// listRequests sequential requests, then listClients concurrent clients for listDuration.
	listBackends int
	listRequests int
	listClients  int
	listDuration time.Duration
	// idle is how long the process is left alone before its memory is read.
	idle time.Duration
	// progress receives what is being done.
	progress io.Writer
}

// defaultControlPlaneConfig is what `make bench` runs: a couple of minutes at most on two
// CPUs.
func defaultControlPlaneConfig(progress io.Writer) controlPlaneConfig {
	return controlPlaneConfig{createSamples: 20, memorySteps: []int{0, 10, 50}, listBackends: 200,
		listRequests: 500, listClients: 8, listDuration: 5 * time.Second, idle: 3 * time.Second, progress: progress}
}

// memoryPoint is the idle process's resident memory with some backends running.
type memoryPoint struct {
	backends int
	rss      int64 // bytes
}

// controlPlaneSummary is what the control plane scenario measured; failed is set when it
// stopped early, and then only the figures measured before are filled in.
type controlPlaneSummary struct {
	cfg controlPlaneConfig
	// build and start are how long building the binary and waiting for it to listen took.
	build, start time.Duration
	// engine is the backends' engine (see backendEngine), once one exists.
	engine string
	// create holds the creations' latencies, from sending POST /api/backends to the first 2xx
	// from the new backend's API.
	create summary
	memory []memoryPoint
	// listed is how many backends GET /api/backends returned while measured.
	listed   int
	listSeq  summary
	listConc summary
	failed   error
}

// runControlPlane builds cmd/backpack, runs `backpack dev` on a temporary data directory and
// measures it. The process and the directory are gone when it returns.
func runControlPlane(ctx context.Context, cfg controlPlaneConfig) controlPlaneSummary {
	r := controlPlaneSummary{cfg: cfg}
	r.failed = r.measure(ctx)
	return r
}

func (r *controlPlaneSummary) measure(ctx context.Context) error {
	cfg := r.cfg
	dir, err := os.MkdirTemp("", "backpack-bench-cp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	fmt.Fprintln(cfg.progress, "  building cmd/backpack…")
	t := time.Now()
	bins, err := goBuild(ctx, dir, "cmd/backpack")
	if err != nil {
		return err
	}
	bin := bins[0]
	r.build = time.Since(t)
	info, err := readBinaryInfo(bin)
	if err != nil {
		return err
	}

	fmt.Fprintln(cfg.progress, "  starting backpack dev…")
	t = time.Now()
	dev, err := startDev(ctx, bin, dir, runtime.GOMAXPROCS(0))
	if err != nil {
		return err
	}
	defer dev.stop()
	r.start = time.Since(t)

	c := newCPClient(dev.port, cfg.listClients)
	if err := c.signIn(ctx); err != nil {
		return dev.explain(err)
	}
	// creations record the timed creations' latencies as grow makes them.
	var creations []time.Duration
	var createErrors int
	var createElapsed time.Duration
	grow := func(n int) error {
		for c.backends < n {
			if c.backends >= cfg.createSamples {
				if err := c.createBackend(ctx); err != nil {
					return err
				}
				continue
			}
			before, t0 := c.backends, time.Now()
			d, err := c.createAndFirstAnswer(ctx)
			createElapsed += time.Since(t0)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if c.backends == before {
				return err // the create itself failed: trying again would fail the same way
			}
			if err != nil {
				createErrors++
				fmt.Fprintf(cfg.progress, "  %s: %v\n", c.name(c.backends-1), err)
				continue
			}
			creations = append(creations, d)
		}
		return nil
	}
	settle := func(n int) error {
		if err := grow(n); err != nil {
			return err
		}
		if n > 0 {
			fmt.Fprintf(cfg.progress, "  waiting until %d backends run…\n", n)
			if err := c.waitRunning(ctx, n); err != nil {
				return err
			}
		}
		select {
		case <-time.After(cfg.idle):
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	}
	defer func() {
		r.create = summarize(creations, createErrors, createElapsed)
	}()

	for _, n := range cfg.memorySteps {
		if err := settle(n); err != nil {
			return dev.explain(err)
		}
		rss, err := processMemory(strconv.Itoa(dev.cmd.Process.Pid), "VmRSS")
		if err != nil {
			return err
		}
		fmt.Fprintf(cfg.progress, "  %d backends: VmRSS %s\n", n, mebibytes(rss))
		r.memory = append(r.memory, memoryPoint{n, rss})
	}
	if err := grow(cfg.createSamples); err != nil {
		return dev.explain(err)
	}
	if c.backends > 0 {
		r.engine = c.backendEngine(ctx, info)
	}

	last := 0
	if len(cfg.memorySteps) > 0 {
		last = cfg.memorySteps[len(cfg.memorySteps)-1]
	}
	if cfg.listBackends > last {
		// The listing is measured on a quiet process too; its memory then comes for free.
		if err := settle(cfg.listBackends); err != nil {
			return dev.explain(err)
		}
		if rss, err := processMemory(strconv.Itoa(dev.cmd.Process.Pid), "VmRSS"); err == nil {
			r.memory = append(r.memory, memoryPoint{cfg.listBackends, rss})
		}
	}
	r.listed = c.backends
	if err := c.checkList(ctx, r.listed); err != nil {
		return dev.explain(err)
	}
	fmt.Fprintf(cfg.progress, "  GET /api/backends with %d backends: %d sequential requests…\n", c.backends, cfg.listRequests)
	var latencies []time.Duration
	var errs int
	var firstError error
	t = time.Now()
	for range cfg.listRequests {
		t0 := time.Now()
		if err := c.list(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs++
			if firstError == nil {
				firstError = err
			}
			continue
		}
		latencies = append(latencies, time.Since(t0))
	}
	r.listSeq = summarize(latencies, errs, time.Since(t))
	r.listSeq.firstError = firstError

	fmt.Fprintf(cfg.progress, "  GET /api/backends with %d backends: %d clients for %s…\n", c.backends, cfg.listClients, cfg.listDuration)
	r.listConc = runLoad(ctx, cfg.listClients, cfg.listDuration, func(ctx context.Context, _ int) error { return c.list(ctx) })
	return ctx.Err()
}

// devProcess is a running `backpack dev`.
type devProcess struct {
	cmd     *exec.Cmd
	port    string
	logPath string
	cancel  context.CancelFunc
	done    chan struct{} // closed when the process has exited
	waitErr error
}

// welcomeURL finds the control plane's port in the welcome text (`admin API:  http://…:PORT/api`).
var welcomeURL = regexp.MustCompile(`admin API:\s+\S+://[^/\s]+:(\d+)/`)

// startDev runs `backpack dev` on a free loopback port with its data under dir and GOMAXPROCS
// set to gomaxprocs, and returns once it listens (it prints its welcome then). Its logs go to
// dir/backpack.log.
func startDev(ctx context.Context, bin, dir string, gomaxprocs int) (*devProcess, error) {
	logPath := filepath.Join(dir, "backpack.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	procCtx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(procCtx, bin, "dev", "--data-dir", filepath.Join(dir, "data"), "--port", "0")
	// Nothing from the environment changes what is measured: the settings are the flags'.
	cmd.Env = serverEnv(os.Environ(), gomaxprocs)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = cpStopTimeout
	ports := make(chan string, 1)
	cmd.Stdout = &welcomeWatcher{found: ports}
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("start backpack dev: %w", err)
	}
	p := &devProcess{cmd: cmd, logPath: logPath, cancel: cancel, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	select {
	case p.port = <-ports:
		return p, nil
	case <-p.done:
		p.stop()
		return nil, p.explain(fmt.Errorf("backpack dev exited before listening: %v", p.waitErr))
	case <-time.After(cpStartTimeout):
		p.stop()
		return nil, p.explain(fmt.Errorf("backpack dev did not print its welcome within %s", cpStartTimeout))
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
}

// stop sends SIGTERM and waits for the process to exit (killing it after cpStopTimeout).
func (p *devProcess) stop() {
	p.cancel()
	<-p.done
}

// explain adds the process's last log lines to err, or says it has exited.
func (p *devProcess) explain(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	select {
	case <-p.done:
		err = fmt.Errorf("%w (backpack dev exited: %v)", err, p.waitErr)
	default:
	}
	b, readErr := os.ReadFile(p.logPath)
	if readErr != nil || len(b) == 0 {
		return err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return fmt.Errorf("%w\nlast lines of its log:\n%s", err, strings.Join(lines[max(len(lines)-5, 0):], "\n"))
}

// welcomeWatcher reads the welcome text line by line and sends the port it names once.
type welcomeWatcher struct {
	mu    sync.Mutex
	line  []byte
	found chan<- string
	sent  bool
}

func (w *welcomeWatcher) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.line = append(w.line, b...)
	for {
		i := bytes.IndexByte(w.line, '\n')
		if i < 0 {
			return len(b), nil
		}
		if m := welcomeURL.FindSubmatch(w.line[:i]); m != nil && !w.sent {
			w.found <- string(m[1])
			w.sent = true
		}
		w.line = w.line[i+1:]
	}
}

// cpClient is the operator's browser-like client: a cookie jar and the CSRF header, with every
// host name (admin.localhost, NAME-be.localhost) dialled at the process's loopback port.
type cpClient struct {
	http     *http.Client
	port     string
	csrf     string
	backends int // created so far, named name(0) … name(backends-1)
}

func newCPClient(port string, clients int) *cpClient {
	addr := net.JoinHostPort("127.0.0.1", port)
	transport := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		MaxIdleConns: 2 * clients, MaxIdleConnsPerHost: clients, IdleConnTimeout: time.Minute,
	}
	jar, _ := cookiejar.New(nil)
	return &cpClient{http: &http.Client{Transport: transport, Jar: jar, Timeout: requestTimeout}, port: port}
}

func (c *cpClient) name(i int) string { return fmt.Sprintf("%s%04d", cpBackendPrefix, i) }

// url is http://HOST.localhost:PORT + path.
func (c *cpClient) url(host, path string) string {
	return "http://" + host + ".localhost:" + c.port + path
}

// call sends in as JSON (if not nil), with the CSRF header on state-changing requests and
// apiKey (if any) in X-API-Key, and decodes the answer into out (if not nil), which must come
// with status want.
func (c *cpClient) call(ctx context.Context, method, url, apiKey string, in any, want int, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != http.MethodGet && c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	if apiKey != "" {
		req.Header.Set("X-API-Key", apiKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	if err := expect(resp, want, out); err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	return nil
}

// signIn registers the first account, which becomes the operator (no backend limit).
func (c *cpClient) signIn(ctx context.Context) error {
	var out struct {
		CSRFToken string `json:"csrfToken"`
	}
	creds := map[string]string{"email": "operator@example.com", "password": rand.Text()}
	if err := c.call(ctx, http.MethodPost, c.url("admin", "/api/auth/register"), "", creds, http.StatusCreated, &out); err != nil {
		return err
	}
	if out.CSRFToken == "" {
		return errors.New("register: no csrfToken in the answer")
	}
	c.csrf = out.CSRFToken
	return nil
}

// createBackend asks for the next backend without waiting for it.
func (c *cpClient) createBackend(ctx context.Context) error {
	name := c.name(c.backends)
	if err := c.call(ctx, http.MethodPost, c.url("admin", "/api/backends"), "", map[string]string{"name": name}, http.StatusAccepted, nil); err != nil {
		return err
	}
	c.backends++
	return nil
}

// createAndFirstAnswer creates the next backend as a developer would and times it from
// sending the create to the first 2xx of an authenticated request to the backend's own API:
// registering its first user with the API key, which GET /api/backends/NAME shows at once.
// The backend's API is tried every cpPollEvery until then.
func (c *cpClient) createAndFirstAnswer(ctx context.Context) (time.Duration, error) {
	name := c.name(c.backends)
	start := time.Now()
	if err := c.createBackend(ctx); err != nil {
		return 0, err
	}
	var b struct {
		APIKey string `json:"apiKey"`
	}
	if err := c.call(ctx, http.MethodGet, c.url("admin", "/api/backends/"+name), "", nil, http.StatusOK, &b); err != nil {
		return 0, err
	}
	if b.APIKey == "" {
		return 0, fmt.Errorf("GET /api/backends/%s: no apiKey", name)
	}
	ctx, cancel := context.WithTimeout(ctx, cpFirstAnswerTimeout)
	defer cancel()
	user := map[string]string{"email": "first@example.com", "password": rand.Text()}
	for {
		err := c.call(ctx, http.MethodPost, c.url(name+"-be", "/auth/register"), b.APIKey, user, http.StatusCreated, nil)
		if err == nil {
			return time.Since(start), nil
		}
		select {
		case <-time.After(cpPollEvery):
		case <-ctx.Done():
			return 0, fmt.Errorf("no successful answer within %s; last: %w", cpFirstAnswerTimeout, err)
		}
	}
}

// backendEngine is the first backend's engine, from its /readyz (see embeddedEngine).
func (c *cpClient) backendEngine(ctx context.Context, info binaryInfo) string {
	var ready json.RawMessage
	if err := c.call(ctx, http.MethodGet, c.url(c.name(0)+"-be", "/readyz"), "", nil, http.StatusOK, &ready); err != nil {
		return fmt.Sprintf("unknown (%v)", err)
	}
	return embeddedEngine(ready, info)
}

// backendStates is the listing, names and states only.
type backendStates struct {
	Backends []struct {
		Name      string `json:"name"`
		State     string `json:"state"`
		LastError string `json:"lastError"`
	} `json:"backends"`
}

// waitRunning polls the listing until n backends exist and all run.
func (c *cpClient) waitRunning(ctx context.Context, n int) error {
	timeout := time.Minute + time.Duration(n)*time.Second
	deadline := time.Now().Add(timeout)
	for {
		var list backendStates
		if err := c.call(ctx, http.MethodGet, c.url("admin", "/api/backends"), "", nil, http.StatusOK, &list); err != nil {
			return err
		}
		states := map[string]int{}
		var lastError string
		for _, b := range list.Backends {
			states[b.State]++
			if b.LastError != "" {
				lastError = b.Name + ": " + b.LastError
			}
		}
		if len(list.Backends) >= n && states["running"] == len(list.Backends) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("backends not all running after %s: %v (last error: %s)", timeout, states, lastError)
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// checkList makes sure the listing shows n backends before it is measured.
func (c *cpClient) checkList(ctx context.Context, n int) error {
	var list backendStates
	if err := c.call(ctx, http.MethodGet, c.url("admin", "/api/backends"), "", nil, http.StatusOK, &list); err != nil {
		return err
	}
	if len(list.Backends) != n {
		return fmt.Errorf("GET /api/backends lists %d backends, want %d", len(list.Backends), n)
	}
	return nil
}

// list is the measured request: the whole listing, read but not decoded.
func (c *cpClient) list(ctx context.Context) error {
	return c.call(ctx, http.MethodGet, c.url("admin", "/api/backends"), "", nil, http.StatusOK, nil)
}

// printControlPlaneTables writes the latency table and the memory table, then what went wrong.
func printControlPlaneTables(w io.Writer, r controlPlaneSummary) error {
	fmt.Fprintf(w, "control plane: backpack dev (SQLite, local runtime: backends in-process; their engine: %s), built in %s, listening after %s\n",
		r.engine, r.build.Round(100*time.Millisecond), r.start.Round(10*time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "control plane\tbackends\tclients\trequests\terrors\treq/s\tp50\tp90\tp99\tmax")
	row := func(name, backends string, clients int, s summary, perSecond bool) {
		rate := "-"
		if perSecond {
			rate = fmt.Sprintf("%.1f", s.perSecond)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", name, backends, clients, s.requests, s.errors,
			rate, millis(s.p50), millis(s.p90), millis(s.p99), millis(s.max))
	}
	if r.create.requests > 0 {
		row("create → first API 2xx", fmt.Sprintf("0–%d", r.create.requests-1), 1, r.create, false)
	}
	listed := strconv.Itoa(r.listed)
	if r.listSeq.requests > 0 {
		row("GET /api/backends", listed, 1, r.listSeq, true)
	}
	if r.listConc.requests > 0 {
		row("GET /api/backends", listed, r.cfg.listClients, r.listConc, true)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.create.requests > 0 {
		fmt.Fprintf(w, "create → first API 2xx: from sending POST /api/backends to the first 201 of the new backend's POST /auth/register (X-API-Key), tried every %s; backends: how many already ran\n", cpPollEvery)
	}

	if len(r.memory) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "idle VmRSS (after %s)\tbackends\tVmRSS\tper backend\n", r.cfg.idle)
		for _, m := range r.memory {
			per := "-"
			if base := r.memory[0]; base.backends == 0 && m.backends > 0 {
				per = mebibytes((m.rss - base.rss) / int64(m.backends))
			}
			fmt.Fprintf(tw, "\t%d\t%s\t%s\n", m.backends, mebibytes(m.rss), per)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	if r.listSeq.firstError != nil {
		fmt.Fprintf(w, "GET /api/backends sequential: first error: %v\n", r.listSeq.firstError)
	}
	if r.listConc.firstError != nil {
		fmt.Fprintf(w, "GET /api/backends concurrent: first error: %v\n", r.listConc.firstError)
	}
	if r.failed != nil {
		fmt.Fprintf(w, "control plane: stopped early: %v\n", r.failed)
	}
	return nil
}
