package controlplane

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/backpackhq/backpack/controlplane/runtime"
	"github.com/backpackhq/backpack/controlplane/store"
)

// maxParallelOperations bounds how many backends are applied or removed at once, so a burst of
// creates does not start everything together.
const maxParallelOperations = 4

// reconciler converges the runtime toward the desired state kept in the store; it runs in the
// leading control plane only (see leader.go). It looks at every backend on a timer and
// whenever the API (of any control plane) kicks it; each backend has at most one
// operation in flight. Nothing it needs is kept only in memory: a process that stops in the
// middle of an operation leaves the backend in its transitional state, and the next process
// finishes the operation, which the runtime's idempotent Apply and Remove make safe.
type reconciler struct {
	s       *Server
	kickCh  chan struct{}
	slots   chan struct{}
	ops     sync.WaitGroup
	mu      sync.Mutex
	running map[string]bool      // backends with an operation in flight
	applied map[string]applied   // what this process last applied successfully, per backend
	checked map[string]time.Time // last health check, per backend
	// keyTried is when this process last tried to complete a backend's interrupted API key
	// rotation (see completeRotation): tries are a health interval apart.
	keyTried map[string]time.Time
	states   map[store.State]int // backends per state at the last pass, for metrics
}

func newReconciler(s *Server) *reconciler {
	return &reconciler{s: s, kickCh: make(chan struct{}, 1), slots: make(chan struct{}, maxParallelOperations),
		running: map[string]bool{}, applied: map[string]applied{}, checked: map[string]time.Time{},
		keyTried: map[string]time.Time{}, states: map[store.State]int{}}
}

// applied is what the reconciler last made a backend run: a backend whose stored operation,
// API replicas or the present release differ from it is applied again.
type applied struct {
	operation int64
	replicas  int
	image     string
}

// want is what the backend is to run now.
func (r *reconciler) want(b store.Backend) applied {
	return applied{operation: b.Operation, replicas: b.APIReplicas, image: r.s.releaseImage()}
}

// kick asks for a pass now, after a change in desired state.
func (r *reconciler) kick() {
	select {
	case r.kickCh <- struct{}{}:
	default:
	}
}

// run reconciles until ctx ends: one term of leadership. A new term starts from what the store
// says, as a restarted process would, so it resumes whatever the previous leader left.
func (r *reconciler) run(ctx context.Context) {
	r.mu.Lock()
	r.applied, r.checked = map[string]applied{}, map[string]time.Time{}
	r.mu.Unlock()
	t := time.NewTicker(r.s.cfg.ReconcileInterval)
	defer t.Stop()
	for {
		r.pass(ctx)
		select {
		case <-ctx.Done():
			r.ops.Wait()
			r.mu.Lock()
			r.states = map[store.State]int{} // the next leader counts them
			r.mu.Unlock()
			return
		case <-t.C:
		case <-r.kickCh:
		}
	}
}

func (r *reconciler) busy(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running[name]
}

// pass starts whatever operation each backend needs now.
func (r *reconciler) pass(ctx context.Context) {
	list, err := r.s.store.ListBackends(ctx, "")
	if err != nil {
		if ctx.Err() == nil {
			r.s.log.Error("reconcile: list backends", "err", err)
		}
		return
	}
	states := map[store.State]int{}
	now := time.Now()
	for _, b := range list {
		states[b.State]++
		if r.busy(b.Name) || now.Before(b.NextAttemptAt) {
			continue
		}
		r.mu.Lock()
		done, checked, keyTried := r.applied[b.Name], r.checked[b.Name], r.keyTried[b.Name]
		r.mu.Unlock()
		switch {
		case b.Desired == store.DesiredDeleted && b.State == store.StateDeleting:
			r.start(ctx, b, "remove", r.remove)
		case b.Desired == store.DesiredRunning && (b.State == store.StateCreating || b.State == store.StateFailed):
			r.start(ctx, b, "apply", r.apply)
		case b.Desired == store.DesiredRunning && done != r.want(b):
			// Running or degraded in the store but not applied by this process as it is now:
			// after a restart, make sure the runtime still has it (the local runtime starts it
			// again); after a new release or a change of its replicas, roll it. At most
			// maxParallelOperations backends roll at once.
			r.start(ctx, b, "resume", r.resume)
		case b.Desired == store.DesiredRunning && (b.State == store.StateRunning || b.State == store.StateDegraded) &&
			len(b.PendingAPIKey) > 0 && now.Sub(b.PendingKeySince) >= interruptedRotationAfter &&
			now.Sub(keyTried) >= r.s.cfg.HealthInterval:
			r.start(ctx, b, "rotation", r.completeRotation)
		case b.Desired == store.DesiredRunning && now.Sub(checked) >= r.s.cfg.HealthInterval:
			r.start(ctx, b, "health", r.checkHealth)
		}
	}
	r.mu.Lock()
	r.states = states
	r.mu.Unlock()
}

func (r *reconciler) start(ctx context.Context, b store.Backend, kind string, op func(context.Context, store.Backend) error) {
	r.mu.Lock()
	r.running[b.Name] = true
	r.mu.Unlock()
	r.ops.Add(1)
	go func() {
		defer r.ops.Done()
		defer func() {
			r.mu.Lock()
			delete(r.running, b.Name)
			r.mu.Unlock()
			r.s.bus.notify(b.Name)
		}()
		select {
		case r.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-r.slots }()
		start := time.Now()
		err := op(ctx, b)
		r.s.metrics.operation(kind, err, time.Since(start))
		if err != nil && ctx.Err() == nil && !errors.Is(err, store.ErrStale) {
			r.s.log.Error("reconcile", "backend", b.Name, "operation", kind, "err", err)
		}
	}()
}

func (r *reconciler) spec(b store.Backend) (runtime.Spec, error) {
	key, token, err := r.s.backendSecrets(b)
	if err != nil {
		return runtime.Spec{}, err
	}
	return runtime.Spec{Name: b.Name, APIKey: key, AdminToken: token, Node: b.Node,
		CORSOrigins: []string{r.s.cfg.siteURL(b.Name)}, APIReplicas: b.APIReplicas, Volumes: b.Volumes}, nil
}

// apply creates (or re-creates) a backend and waits until it is ready.
func (r *reconciler) apply(ctx context.Context, b store.Backend) error {
	if b.Attempts > 0 {
		r.s.record(ctx, b, "progress", fmt.Sprintf("attempt %d", b.Attempts+1))
	}
	want := r.want(b)
	progress := func(msg string) { r.s.record(ctx, b, "progress", msg) }
	node, err := r.applyAndWait(ctx, b, progress)
	if err != nil {
		// A backend placed but not ready keeps its node: its volumes may be there already,
		// the next attempt goes there too, and a purge knows where to find them.
		b.Node = cmp.Or(b.Node, node)
		return r.failed(ctx, b, err)
	}
	if err := r.settle(ctx, b, want, node, "running"); err != nil {
		return err
	}
	r.ranRelease(ctx, b, want.image)
	return r.copyIfAsked(ctx, b, store.StateRunning)
}

// ranRelease records that the backend became ready with the release's image.
func (r *reconciler) ranRelease(ctx context.Context, b store.Backend, image string) {
	if image == "" || image == b.APIImage {
		return
	}
	if err := r.s.store.SetAPIImage(ctx, b.Name, b.Operation, image); err != nil {
		if !errors.Is(err, store.ErrStale) {
			r.s.log.Warn("record api image", "backend", b.Name, "err", err)
		}
		return
	}
	r.s.changed(ctx, b.Name)
}

// copyIfAsked restores the backup a new backend is a copy of, now that it runs (see
// copyInto); a leader that stopped before the copy was attempted leaves it to the next one's
// resume.
func (r *reconciler) copyIfAsked(ctx context.Context, b store.Backend, state store.State) error {
	if b.CopyFrom == "" {
		return nil
	}
	b.State = state
	return r.s.copyInto(ctx, b)
}

// resume re-applies a backend that the store says runs: after a restart, a new release or a
// change of its API replicas. A restart with the same release is quiet: its event stream
// belongs to an operation that already settled. A new release (the backend ran another
// image) or new replicas (this process applied others) roll the API, and every step goes to
// the backend's events, as the steps of a create do.
func (r *reconciler) resume(ctx context.Context, b store.Backend) error {
	want := r.want(b)
	r.mu.Lock()
	before, known := r.applied[b.Name]
	r.mu.Unlock()
	changed := want.image != "" && b.APIImage != "" && b.APIImage != want.image ||
		known && before.operation == want.operation && before.replicas != want.replicas
	progress := func(msg string) { r.s.log.Debug("resume backend", "backend", b.Name, "step", msg) }
	if changed {
		r.s.record(ctx, b, "progress", r.rolling(b, want))
		progress = func(msg string) { r.s.record(ctx, b, "progress", msg) }
	}
	node, err := r.applyAndWait(ctx, b, progress)
	if err != nil {
		if b.State == store.StateRunning {
			b.State = store.StateDegraded
		}
		return r.failed(ctx, b, err)
	}
	switch {
	case b.State != store.StateRunning || b.Attempts > 0:
		if err := r.settle(ctx, b, want, node, "running again"); err != nil {
			return err
		}
	case changed:
		if err := r.settle(ctx, b, want, node, "running: "+r.rolled(want)); err != nil {
			return err
		}
	default:
		r.mu.Lock()
		r.applied[b.Name], r.checked[b.Name] = want, time.Now()
		r.mu.Unlock()
	}
	r.ranRelease(ctx, b, want.image)
	return r.copyIfAsked(ctx, b, store.StateRunning)
}

// rolling says why a running backend is being updated, and rolled what it runs once done.
func (r *reconciler) rolling(b store.Backend, want applied) string {
	if want.image != "" && b.APIImage != "" && b.APIImage != want.image {
		return fmt.Sprintf("updating the API from %s to %s, one replica at a time; the old ones serve until the new are ready", b.APIImage, want.image)
	}
	return fmt.Sprintf("updating to %s", replicasText(want.replicas))
}

func (r *reconciler) rolled(want applied) string {
	if want.image != "" {
		return fmt.Sprintf("%s of %s", replicasText(want.replicas), want.image)
	}
	return replicasText(want.replicas)
}

func replicasText(n int) string {
	if n == 1 {
		return "1 API replica"
	}
	return fmt.Sprintf("%d API replicas", n)
}

// applyAndWait applies the backend and waits until it is ready; the node Apply placed it on
// comes back also when it failed after placing it.
func (r *reconciler) applyAndWait(ctx context.Context, b store.Backend, progress runtime.Progress) (string, error) {
	spec, err := r.spec(b)
	if err != nil {
		return "", err
	}
	node, err := r.s.runtime.Apply(ctx, spec, progress)
	if err != nil {
		return node, err
	}
	return node, r.waitReady(ctx, b.Name, progress)
}

// waitReady polls the runtime until every service runs and the API answers, reporting
// changes in the services' counts along the way.
func (r *reconciler) waitReady(ctx context.Context, name string, progress runtime.Progress) error {
	deadline := time.Now().Add(r.s.cfg.ReadyTimeout)
	last := ""
	for {
		st, err := r.s.runtime.Status(ctx, name)
		if err == nil && st.Ready {
			return nil
		}
		summary := describe(st, err)
		if summary != last {
			progress(summary)
			last = summary
		}
		if err == nil && st.Failure != "" {
			return errors.New(st.Failure)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %s", r.s.cfg.ReadyTimeout, summary)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// describe says in one line how a backend's services are doing; a cause the runtime found
// for all of them (its node is down) comes first, instead of each service's own error.
func describe(st runtime.Status, err error) string {
	if err != nil {
		return "status: " + err.Error()
	}
	parts := make([]string, 0, len(st.Services))
	for _, svc := range st.Services {
		p := fmt.Sprintf("%s %d/%d", svc.Name, svc.Running, svc.Desired)
		if svc.LastError != "" && svc.LastError != st.Reason {
			p += " (" + svc.LastError + ")"
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return "no services yet"
	}
	s := strings.Join(parts, ", ")
	switch {
	case st.Reason != "":
		s = st.Reason + ": " + s
	case !st.Ready:
		s += "; waiting for the API to be ready"
	}
	return s
}

// remove tears a backend down, then marks it deleted, or forgets it entirely after a purge.
func (r *reconciler) remove(ctx context.Context, b store.Backend) error {
	if b.Attempts > 0 {
		r.s.record(ctx, b, "progress", fmt.Sprintf("attempt %d", b.Attempts+1))
	}
	err := r.s.runtime.Remove(ctx, b.Name, b.Node, b.Purge, func(msg string) { r.s.record(ctx, b, "progress", msg) })
	if err != nil {
		return r.failed(ctx, b, err)
	}
	r.mu.Lock()
	delete(r.applied, b.Name)
	delete(r.checked, b.Name)
	r.mu.Unlock()
	if !b.Purge {
		return r.settleDeleted(ctx, b)
	}
	b.State = store.StateDeleted
	r.s.record(ctx, b, "state", "deleted with its data")
	if err := r.s.store.RemoveBackend(ctx, b.Name, b.Operation); err != nil {
		return fmt.Errorf("forget purged backend %s: %w", b.Name, err)
	}
	r.s.changed(ctx, b.Name)
	return nil
}

// settle records that the operation made the backend run what was wanted.
func (r *reconciler) settle(ctx context.Context, b store.Backend, want applied, node, message string) error {
	err := r.s.store.UpdateStatus(ctx, b.Name, b.Operation, store.StatusUpdate{State: store.StateRunning, Node: node, Now: time.Now()})
	if err != nil {
		return err
	}
	b.State = store.StateRunning
	r.s.record(ctx, b, "state", message)
	r.mu.Lock()
	r.applied[b.Name], r.checked[b.Name] = want, time.Now()
	r.mu.Unlock()
	return nil
}

// settleDeleted records that a delete keeping the data is done.
func (r *reconciler) settleDeleted(ctx context.Context, b store.Backend) error {
	err := r.s.store.UpdateStatus(ctx, b.Name, b.Operation, store.StatusUpdate{State: store.StateDeleted, Now: time.Now()})
	if err != nil {
		return err
	}
	b.State = store.StateDeleted
	r.s.record(ctx, b, "state", "deleted; its data is kept — create it again to re-attach it")
	return nil
}

// failed schedules a retry with exponential backoff and says so in the backend's events. After
// FailAfter attempts the backend shows as failed, and retries go on at the longest interval.
// A process shutting down records nothing: the next one resumes the operation.
func (r *reconciler) failed(ctx context.Context, b store.Backend, cause error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	attempts := b.Attempts + 1
	wait := r.s.cfg.RetryBase << min(attempts-1, 20)
	if wait > r.s.cfg.RetryMax || wait <= 0 {
		wait = r.s.cfg.RetryMax
	}
	state := b.State
	if attempts >= r.s.cfg.FailAfter && state == store.StateCreating {
		state = store.StateFailed
	}
	now := time.Now()
	err := r.s.store.UpdateStatus(ctx, b.Name, b.Operation, store.StatusUpdate{
		State: state, LastError: cause.Error(), Attempts: attempts, NextAttemptAt: now.Add(wait), Node: b.Node, Now: now})
	if err != nil {
		return err
	}
	b.State = state
	r.s.record(ctx, b, "error", fmt.Sprintf("attempt %d failed: %v; retrying in %s", attempts, cause, wait.Round(time.Millisecond)))
	return cause
}

// checkHealth moves a backend between running and degraded as its services come and go, and
// keeps a degraded backend's message at the present counts: what it said at the first failure
// ("api 1/1 … waiting for the API") goes stale as services stop or come back.
func (r *reconciler) checkHealth(ctx context.Context, b store.Backend) error {
	st, err := r.s.runtime.Status(ctx, b.Name)
	r.mu.Lock()
	r.checked[b.Name] = time.Now()
	if errors.Is(err, runtime.ErrNotFound) {
		delete(r.applied, b.Name) // gone from the runtime: the next pass applies it again
	}
	r.mu.Unlock()
	ready := err == nil && st.Ready
	switch {
	case b.State == store.StateRunning && !ready:
		if err := r.s.store.UpdateStatus(ctx, b.Name, b.Operation, store.StatusUpdate{State: store.StateDegraded, LastError: describe(st, err), Now: time.Now()}); err != nil {
			return err
		}
		b.State = store.StateDegraded
		r.s.record(ctx, b, "state", "degraded: "+describe(st, err))
	case b.State == store.StateDegraded && !ready && describe(st, err) != b.LastError:
		msg := describe(st, err)
		if err := r.s.store.UpdateStatus(ctx, b.Name, b.Operation, store.StatusUpdate{State: store.StateDegraded, LastError: msg, Now: time.Now()}); err != nil {
			return err
		}
		b.LastError = msg
		r.s.record(ctx, b, "state", "still degraded: "+msg)
	case b.State == store.StateDegraded && ready:
		if err := r.s.store.UpdateStatus(ctx, b.Name, b.Operation, store.StatusUpdate{State: store.StateRunning, Now: time.Now()}); err != nil {
			return err
		}
		b.State = store.StateRunning
		r.s.record(ctx, b, "state", "running again")
	}
	return nil
}

// stateCounts is the number of backends per state at the last pass.
func (r *reconciler) stateCounts() map[store.State]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[store.State]int, len(r.states))
	for k, v := range r.states {
		out[k] = v
	}
	return out
}
