package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/backpackhq/backpack/controlplane/runtime"
)

// DefaultLogLines is how many lines per backend and service are kept when Config.LogLines is
// zero: enough to see what led up to a problem, small enough for dozens of idle backends.
const DefaultLogLines = 1000

// ring keeps the last lines written to one backend's service, for `backpack logs`. It grows
// up to max lines as lines arrive, so an idle backend costs next to nothing. Followers wait on
// a channel that is created only while someone waits, so logging without followers allocates
// nothing beyond the line itself, and no goroutine is needed per backend.
type ring struct {
	mu     sync.Mutex
	lines  []string // line number k is at lines[k%max]
	max    int
	total  int64         // lines ever added: the number the next line gets
	wake   chan struct{} // closed at the next add or at close; nil while nobody waits
	closed bool
}

func newRing(max int) *ring { return &ring{max: max} }

// add appends one line, overwriting the oldest once the ring is full, and wakes followers.
func (r *ring) add(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	if len(r.lines) < r.max {
		r.lines = append(r.lines, line)
	} else {
		r.lines[r.total%int64(r.max)] = line
	}
	r.total++
	r.wakeLocked()
}

// close ends the ring's life: followers stop once they have written what is left.
func (r *ring) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.wakeLocked()
}

func (r *ring) wakeLocked() {
	if r.wake != nil {
		close(r.wake)
		r.wake = nil
	}
}

// from returns the kept lines numbered from seq on (or the oldest kept, if seq was already
// overwritten), the number to ask for next, whether the ring is closed and, when wait is set, a
// channel closed when more arrive.
func (r *ring) from(seq int64, wait bool) (lines []string, next int64, wake <-chan struct{}, closed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seq = max(seq, r.total-int64(len(r.lines)))
	for k := seq; k < r.total; k++ {
		lines = append(lines, r.lines[k%int64(r.max)])
	}
	if wait && !r.closed && r.wake == nil {
		r.wake = make(chan struct{})
	}
	return lines, r.total, r.wake, r.closed
}

// start is the number of the first line of the last tail lines (all kept lines when tail is
// negative, none when it is 0).
func (r *ring) start(tail int) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if tail < 0 {
		return 0
	}
	return max(0, r.total-int64(tail))
}

// Write makes the ring an io.Writer for slog.JSONHandler, which writes each record, newline
// included, in one call.
func (r *ring) Write(p []byte) (int, error) {
	r.add(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// stream writes the selected lines of r to w and, with follow, new ones until ctx ends or the
// ring is closed.
func (r *ring) stream(ctx context.Context, tail int, follow bool, w io.Writer) error {
	seq := r.start(tail)
	for {
		lines, next, wake, closed := r.from(seq, follow)
		for _, l := range lines {
			if _, err := io.WriteString(w, l+"\n"); err != nil {
				return fmt.Errorf("write logs: %w", err)
			}
		}
		seq = next
		if !follow || closed {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		}
	}
}

// Logs writes a backend's kept log lines: "api" (the coreapi's structured logs, the default)
// or "web" (one line per request the site handler served).
func (r *Runtime) Logs(ctx context.Context, name string, opts runtime.LogOptions, w io.Writer) error {
	inst, ok := r.instance(name)
	if !ok {
		return fmt.Errorf("logs of %s: %w", name, runtime.ErrNotFound)
	}
	var lines *ring
	switch opts.Service {
	case "", "api":
		lines = inst.logs.api
	case "web":
		lines = inst.logs.web
	default:
		return fmt.Errorf("logs of %s: %w %q (it has api and web)", name, runtime.ErrUnknownService, opts.Service)
	}
	return lines.stream(ctx, opts.Tail, opts.Follow, w)
}

// backendLogs are one backend's log rings. They outlive a restart of its API (a changed spec),
// so the lines that explain the restart stay readable, and end when the backend is removed.
type backendLogs struct {
	api, web *ring
}

func newBackendLogs(lines int) *backendLogs {
	return &backendLogs{api: newRing(lines), web: newRing(lines)}
}

func (l *backendLogs) close() {
	l.api.close()
	l.web.close()
}

// apiLogger is the Logger a backend's coreapi gets: JSON lines into its ring, and the same
// records to the runtime's own logger tagged with the backend's name.
func apiLogger(name string, lines *ring, parent *slog.Logger) *slog.Logger {
	return slog.New(teeHandler{
		a: slog.NewJSONHandler(lines, nil),
		b: parent.Handler().WithAttrs([]slog.Attr{slog.String("backend", name)}),
	})
}

// teeHandler sends every record to two handlers, each deciding by its own level.
type teeHandler struct{ a, b slog.Handler }

func (t teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return t.a.Enabled(ctx, l) || t.b.Enabled(ctx, l)
}

func (t teeHandler) Handle(ctx context.Context, rec slog.Record) error {
	var errA, errB error
	if t.a.Enabled(ctx, rec.Level) {
		errA = t.a.Handle(ctx, rec.Clone())
	}
	if t.b.Enabled(ctx, rec.Level) {
		errB = t.b.Handle(ctx, rec)
	}
	return errors.Join(errA, errB)
}

func (t teeHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return teeHandler{a: t.a.WithAttrs(attrs), b: t.b.WithAttrs(attrs)}
}

func (t teeHandler) WithGroup(name string) slog.Handler {
	return teeHandler{a: t.a.WithGroup(name), b: t.b.WithGroup(name)}
}
