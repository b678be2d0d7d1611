// Package local is the runtime of `backpack dev`: every backend is a coreapi instance inside
// the control plane's process, its documents in a SQLite file of its own, so the whole
// product runs on one machine with no Docker and no database server. The control plane routes the public API and the
// site through its own listener (runtime.Router) and proxies the admin port to a loopback
// listener per backend.
package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"github.com/backpackhq/backpack/controlplane/runtime"
	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/docstore/ferretimport"
	"github.com/backpackhq/backpack/tools/docstore/sqlitestore"
	"github.com/backpackhq/backpack/tools/keylock"
	"github.com/backpackhq/backpack/tools/names"
)

// Node is the only node of the local runtime; Apply returns it so the control plane records a
// placement the same way for every runtime.
const Node = "local"

// ErrClosed is returned by operations started after Close, which must not start backends that
// nothing would stop.
var ErrClosed = errors.New("local runtime is closed")

// Config is where the local runtime keeps its data and how it reports.
type Config struct {
	// DataDir holds each backend's database, files and site (backends/NAME/); it survives
	// restarts, so backends come back with their data.
	DataDir string
	// RedisURL, when set, keeps end users' sessions and login counters in Redis (each backend
	// under its own key prefix), so they survive restarts; by default they live in memory.
	RedisURL string
	// AllowLoopbackOrigins lets a backend's own site (http://NAME.localhost) and development
	// servers on plain loopback addresses (http://localhost, 127.0.0.1, [::1]), at any port,
	// call it with credentials; other backends' sites (other *.localhost names) may not. Set it
	// only when the domain is localhost.
	AllowLoopbackOrigins bool
	// TrustedProxies are the proxies in front of the control plane that serves the backends,
	// whose X-Forwarded-For the backends' APIs believe (coreapi.Config.TrustedProxies); empty,
	// as in `backpack dev`, trusts nobody.
	TrustedProxies []string
	// Logger receives every backend's logs tagged backend=NAME, and the runtime's own; nil
	// means slog.Default().
	Logger *slog.Logger
	// LogLines is how many lines per backend and service Logs can return (default
	// DefaultLogLines).
	LogLines int
}

// Runtime runs backends in-process. It implements runtime.Runtime and runtime.Router.
type Runtime struct {
	cfg     Config
	dataDir string
	log     *slog.Logger
	lines   int
	names   keylock.Locks // one Apply or Remove at a time per backend; slow starts of others go on

	mu        sync.Mutex
	instances map[string]*instance
	closed    bool
	ops       sync.WaitGroup // Apply and Remove calls in progress, which Close waits for
}

var (
	_ runtime.Runtime = (*Runtime)(nil)
	_ runtime.Router  = (*Runtime)(nil)
)

// New returns a runtime with nothing running: the control plane's reconciler Applies what
// should run. A data directory the previous version wrote (every backend in one embedded
// FerretDB under db/) is first moved to one SQLite file per backend, once.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("local runtime: a data directory is required")
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("local runtime: data directory %q: %w", cfg.DataDir, err)
	}
	if err := os.MkdirAll(filepath.Join(dataDir, "backends"), 0o700); err != nil {
		return nil, fmt.Errorf("local runtime: %w", err)
	}
	r := &Runtime{cfg: cfg, dataDir: dataDir, log: cfg.Logger, lines: cfg.LogLines, instances: map[string]*instance{}}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.lines <= 0 {
		r.lines = DefaultLogLines
	}
	if _, err := ferretimport.MigrateLocal(ctx, dataDir, r.openStore, r.log); err != nil {
		return nil, fmt.Errorf("local runtime: %w", err)
	}
	return r, nil
}

// openStore opens (creating it) a backend's database file, with docstore's default limits,
// the same the backends' APIs apply (coreapi.DefaultQueryTimeout).
func (r *Runtime) openStore(ctx context.Context, path string) (docstore.Store, error) {
	return sqlitestore.Open(ctx, path, sqlitestore.Options{})
}

// begin registers an Apply or Remove, so Close waits for it rather than pulling the database
// away underneath; it fails once Close has started.
func (r *Runtime) begin() (end func(), err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	r.ops.Add(1)
	return r.ops.Done, nil
}

// instance returns the running instance of a backend.
func (r *Runtime) instance(name string) (*instance, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	inst, ok := r.instances[name]
	return inst, ok
}

func (r *Runtime) setInstance(name string, inst *instance) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if inst == nil {
		delete(r.instances, name)
	} else {
		r.instances[name] = inst
	}
}

// Apply starts the backend, or leaves it if it already runs with this spec. A changed spec
// (a new API key, admin token or origins) restarts its API; data and logs carry over.
func (r *Runtime) Apply(ctx context.Context, spec runtime.Spec, progress runtime.Progress) (string, error) {
	progress = orNothing(progress)
	if err := names.Backend(spec.Name); err != nil {
		return "", fmt.Errorf("apply: %w", err)
	}
	if spec.Node != "" && spec.Node != Node {
		return "", fmt.Errorf("apply %s: it is placed on node %q, but the local runtime only has %q", spec.Name, spec.Node, Node)
	}
	end, err := r.begin()
	if err != nil {
		return "", fmt.Errorf("apply %s: %w", spec.Name, err)
	}
	defer end()
	defer r.names.Lock(spec.Name)()

	if spec.APIReplicas > 1 {
		progress(fmt.Sprintf("one API runs in this process: the local runtime has no replicas (the %d asked for run on Swarm)", spec.APIReplicas))
	}
	logs := newBackendLogs(r.lines)
	if old, ok := r.instance(spec.Name); ok {
		if sameSpec(old.spec, spec) {
			progress("api already running")
			return Node, nil
		}
		progress("stopping api to apply the changed configuration")
		r.setInstance(spec.Name, nil)
		old.stop()
		logs = old.logs
	}
	inst, err := r.start(ctx, spec, logs, progress)
	if err != nil {
		logs.close()
		return "", fmt.Errorf("apply: %w", err)
	}
	r.setInstance(spec.Name, inst)
	return Node, nil
}

// Remove stops the backend if it runs; with purge it also drops its database, deletes its keys
// in the shared Redis (if one is configured) and its files and site, whether or not it was
// running (after a restart of the control plane nothing runs, but the data is still there).
// Everything is on this one node, so the node Remove is given does not matter.
func (r *Runtime) Remove(ctx context.Context, name, _ string, purge bool, progress runtime.Progress) error {
	progress = orNothing(progress)
	if err := names.Backend(name); err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	end, err := r.begin()
	if err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	defer end()
	defer r.names.Lock(name)()

	if inst, ok := r.instance(name); ok {
		progress("stopping api")
		r.setInstance(name, nil)
		inst.stop()
		inst.logs.close()
		progress("api stopped")
	} else {
		progress("api not running")
	}
	if !purge {
		return nil
	}
	progress("removing sessions")
	if err := r.purgeEphemeral(ctx, name); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	progress("removing database, files and site")
	if err := os.RemoveAll(r.backendDir(name)); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

// Status reports the api and web services; the site is served by the control plane itself,
// so web runs whenever the api does. Ready is the API's own readiness check.
func (r *Runtime) Status(ctx context.Context, name string) (runtime.Status, error) {
	inst, ok := r.instance(name)
	if !ok {
		return runtime.Status{}, fmt.Errorf("status of %s: %w", name, runtime.ErrNotFound)
	}
	api := runtime.ServiceStatus{Name: "api", Running: 1, Desired: 1, Node: Node}
	web := runtime.ServiceStatus{Name: "web", Running: 1, Desired: 1, Node: Node}
	err := inst.ready(ctx)
	if err != nil {
		api.LastError = err.Error()
	}
	return runtime.Status{Services: []runtime.ServiceStatus{api, web}, Ready: err == nil}, nil
}

// AdminURL is the backend's admin listener on the loopback interface.
func (r *Runtime) AdminURL(_ context.Context, name string) (string, error) {
	inst, ok := r.instance(name)
	if !ok {
		return "", fmt.Errorf("admin URL of %s: %w", name, runtime.ErrNotFound)
	}
	return "http://" + inst.addr, nil
}

// PublicHandler is the running backend's public API. Look it up per request: a restarted
// backend has a new one.
func (r *Runtime) PublicHandler(name string) (http.Handler, bool) {
	inst, ok := r.instance(name)
	if !ok {
		return nil, false
	}
	return inst.api.Handler(), true
}

// SiteHandler serves the running backend's current site release.
func (r *Runtime) SiteHandler(name string) (http.Handler, bool) {
	inst, ok := r.instance(name)
	if !ok {
		return nil, false
	}
	return inst.site, true
}

// Close waits for Apply and Remove calls in progress, stops every backend (in parallel, each
// with a short grace for in-flight admin requests), then releases the database. Data stays on
// disk for the next start.
func (r *Runtime) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	r.ops.Wait()

	r.mu.Lock()
	running := r.instances
	r.instances = map[string]*instance{}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, inst := range running {
		wg.Go(func() {
			inst.stop()
			inst.logs.close()
		})
	}
	wg.Wait()
	return nil
}

func orNothing(p runtime.Progress) runtime.Progress {
	if p == nil {
		return func(string) {}
	}
	return p
}
