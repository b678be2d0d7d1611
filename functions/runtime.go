// Package functions runs a backend's server-side JavaScript (CONTRACT §6): it keeps every
// deployed function of the backend loaded on this replica, follows deploys made through any
// replica, calls onRequest for /fn/NAME and the websocket's call action, runs the before* and
// after* hooks inside core's write path, and gives the functions' ctx.db calls to core under the
// caller's rules. The JavaScript itself runs in tools/jsfunc's worker processes, so no function
// can take the API down. It speaks no HTTP: coreapi parses requests and renders answers.
package functions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/tools/jsfunc"
)

// Config is what the runtime needs beyond the data service.
type Config struct {
	// Pool runs the JavaScript; the runtime closes it with itself.
	Pool *jsfunc.Pool
	// ErrorOf maps an error of a database call to what the function sees (status, code,
	// message): the edge's one mapping, so ctx.db fails like the HTTP API does.
	ErrorOf func(error) (status int, code, message string)
	// Observe is told of every invocation: the function, its outcome ("ok", "error",
	// "timeout", ...) and how long it took.
	Observe func(function, outcome string, took time.Duration)
	// FetchHosts are the hosts ctx.fetch may reach, read at each invocation.
	FetchHosts func() []string
	Logger     *slog.Logger
	// Resync is how often every function is read again, for a deploy whose event this replica
	// missed (events are at-most-once); default 5 s.
	Resync time.Duration
}

// Runtime is one replica's functions.
type Runtime struct {
	cfg  Config
	data *core.Service
	log  *slog.Logger
	logs *logBuffer

	mu    sync.RWMutex
	fns   map[string]core.Function
	hooks map[hookKey][]string // collection and handler → functions defining it, by name

	stop    context.CancelFunc
	stopped sync.WaitGroup
}

type hookKey struct{ collection, handler string }

// New loads every deployed function, so a replica is ready only once it can run them all, and
// follows deploys until Close.
func New(ctx context.Context, data *core.Service, cfg Config) (*Runtime, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Resync == 0 {
		cfg.Resync = 5 * time.Second
	}
	r := &Runtime{cfg: cfg, data: data, log: cfg.Logger, fns: map[string]core.Function{}, hooks: map[hookKey][]string{}}
	if err := r.ReloadAll(ctx); err != nil {
		return nil, err
	}
	r.logs = newLogBuffer(data, cfg.Logger, func(l lineage) bool {
		fn, ok := r.lookup(l.name)
		return ok && lineageOf(fn) == l
	})
	life, stop := context.WithCancel(context.WithoutCancel(ctx))
	r.stop = stop
	r.stopped.Add(2)
	go func() {
		defer r.stopped.Done()
		r.logs.run(life)
	}()
	go func() {
		defer r.stopped.Done()
		r.resync(life)
	}()
	return r, nil
}

// Close stops following deploys, stores the logs still buffered and stops the workers.
func (r *Runtime) Close() {
	r.stop()
	r.stopped.Wait()
	r.cfg.Pool.Close()
}

func (r *Runtime) resync(ctx context.Context) {
	t := time.NewTicker(r.cfg.Resync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.ReloadAll(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("reload functions", "err", err)
			}
		}
	}
}

// ReloadAll brings every function up to date: new versions replace older ones, deleted ones
// go. Only the functions whose version changed are read whole.
func (r *Runtime) ReloadAll(ctx context.Context) error {
	versions, err := r.data.FunctionVersions(ctx)
	if err != nil {
		return err
	}
	r.mu.RLock()
	var stale []string
	for name, v := range versions {
		if cur, ok := r.fns[name]; !ok || v > cur.Version {
			stale = append(stale, name)
		}
	}
	for name := range r.fns {
		if _, ok := versions[name]; !ok {
			stale = append(stale, name) // deleted, or deployed since the versions were read
		}
	}
	r.mu.RUnlock()
	for _, name := range stale {
		if err := r.Reload(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

// ReplaceAll reads every function again and runs exactly those, whatever their versions:
// after a restore, a function may be back at an older version than the one running.
func (r *Runtime) ReplaceAll(ctx context.Context) error {
	fns, err := r.data.Functions(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fns = make(map[string]core.Function, len(fns))
	for _, fn := range fns {
		r.fns[fn.Name] = fn
	}
	r.index()
	return nil
}

// Reload reads one function again, when an event says it was deployed or deleted.
func (r *Runtime) Reload(ctx context.Context, name string) error {
	fn, err := r.data.Function(ctx, name)
	if err != nil && !errors.Is(err, core.ErrFunctionNotFound) {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		delete(r.fns, name)
	} else if cur, ok := r.fns[name]; !ok || fn.Version > cur.Version {
		r.fns[name] = fn
	}
	r.index()
	return nil
}

// index rebuilds which functions hook which collection; r.mu is held.
func (r *Runtime) index() {
	r.hooks = map[hookKey][]string{}
	for name, fn := range r.fns {
		for _, h := range fn.Handlers {
			if h == handlerRequest {
				continue
			}
			for _, c := range fn.Collections {
				k := hookKey{c, h}
				r.hooks[k] = append(r.hooks[k], name)
			}
		}
	}
	for k := range r.hooks {
		slices.Sort(r.hooks[k])
	}
}

// lookup is the version of a function this replica runs now.
func (r *Runtime) lookup(name string) (core.Function, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	fn, ok := r.fns[name]
	return fn, ok
}

// Deploy checks a new version (it must compile, and its top level must run within its time
// limit), stores it, and serves it on this replica at once; the others follow the event.
// A source that fails leaves the running version as it is.
func (r *Runtime) Deploy(ctx context.Context, name string, d core.FunctionDeploy) (core.Function, error) {
	if err := core.CheckFunctionName(name); err != nil {
		return core.Function{}, err
	}
	if err := d.Validate(); err != nil {
		return core.Function{}, err
	}
	var syn *jsfunc.SyntaxError
	if err := jsfunc.Check(d.Source); errors.As(err, &syn) {
		return core.Function{}, &core.Error{Kind: core.Invalid, Code: "syntax_error",
			Message: fmt.Sprintf("line %d, column %d: %s", syn.Line, syn.Column, syn.Message),
			Details: map[string]any{"line": syn.Line, "column": syn.Column}}
	} else if err != nil {
		return core.Function{}, fmt.Errorf("check %s: %w", name, err)
	}
	handlers, err := r.cfg.Pool.Load(ctx, "deploy/"+name+"/"+core.Timestamp(), d.Source, time.Duration(d.TimeoutMS)*time.Millisecond)
	if err != nil {
		return core.Function{}, loadError(err)
	}
	fn, err := r.data.StoreFunction(ctx, name, d, handlers)
	if err != nil {
		return core.Function{}, err
	}
	r.mu.Lock()
	if cur, ok := r.fns[name]; !ok || fn.Version > cur.Version {
		r.fns[name] = fn
	}
	r.index()
	r.mu.Unlock()
	return fn, nil
}

// loadError explains why a source's top level failed to run at deploy.
func loadError(err error) error {
	var thrown *jsfunc.ThrownError
	switch {
	case errors.As(err, &thrown):
		return &core.Error{Kind: core.Invalid, Code: "function_load_failed",
			Message: "the function's top level threw: " + thrown.Message, Details: map[string]any{"stack": thrown.Stack}}
	case errors.Is(err, jsfunc.ErrTimeout):
		return &core.Error{Kind: core.Invalid, Code: "function_load_failed", Message: "the function's top level ran longer than its time limit"}
	case errors.Is(err, jsfunc.ErrMemory):
		return &core.Error{Kind: core.Invalid, Code: "function_load_failed", Message: "the function's top level used more memory than a function may"}
	}
	return fmt.Errorf("load function: %w", err)
}

// Delete removes a function on every replica.
func (r *Runtime) Delete(ctx context.Context, name string) error {
	if err := r.data.DeleteFunction(ctx, name); err != nil {
		return err
	}
	r.mu.Lock()
	delete(r.fns, name)
	r.index()
	r.mu.Unlock()
	return nil
}
