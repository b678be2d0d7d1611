package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/backpackhq/backpack/controlplane/store"
	"github.com/labstack/echo/v4"
)

// bus wakes the event streams of a backend when something was recorded for it, and the
// listing streams when anything was. The events themselves are read from the store, so a
// stream that missed a wake-up loses nothing.
type bus struct {
	mu      sync.Mutex
	waiting map[string]chan struct{}
	any     chan struct{}
}

func newBus() *bus { return &bus{waiting: map[string]chan struct{}{}, any: make(chan struct{})} }

// changedAny returns a channel closed at the next notify for any backend.
func (b *bus) changedAny() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.any
}

// changed returns a channel closed at the next notify for name.
func (b *bus) changed(name string) <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch, ok := b.waiting[name]
	if !ok {
		ch = make(chan struct{})
		b.waiting[name] = ch
	}
	return ch
}

// notifyAll wakes every stream, after notices from other processes may have been missed.
func (b *bus) notifyAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for name, ch := range b.waiting {
		close(ch)
		delete(b.waiting, name)
	}
	close(b.any)
	b.any = make(chan struct{})
}

func (b *bus) notify(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ch, ok := b.waiting[name]; ok {
		close(ch)
		delete(b.waiting, name)
	}
	close(b.any)
	b.any = make(chan struct{})
}

// record writes an event of the backend's current operation and wakes its streams, in every
// control plane. An event that cannot be stored is logged: progress is never worth failing an
// operation for.
func (s *Server) record(ctx context.Context, b store.Backend, kind, message string) {
	e := store.Event{Backend: b.Name, Operation: b.Operation, At: time.Now(), Kind: kind, State: b.State, Message: message}
	if _, err := s.store.AddEvent(context.WithoutCancel(ctx), e); err != nil {
		s.log.Warn("record event", "backend", b.Name, "err", err, "message", message)
	}
	s.recorded(ctx, b, e)
}

// recorded logs events stored of the backend's current operation (by record, or with the
// change that started the operation) and wakes its streams, in every control plane.
func (s *Server) recorded(ctx context.Context, b store.Backend, events ...store.Event) {
	for _, e := range events {
		s.log.Info("backend event", "backend", b.Name, "operation", b.Operation, "kind", e.Kind, "state", b.State, "message", e.Message)
	}
	s.changed(ctx, b.Name)
}

// eventJSON is one server-sent event's data.
type eventJSON struct {
	ID        int64  `json:"id"`
	Backend   string `json:"backend"`
	Operation int64  `json:"operation"`
	At        string `json:"at"`
	Kind      string `json:"kind"`
	State     string `json:"state"`
	Message   string `json:"message"`
}

// settled states end an operation's stream.
func settled(st store.State) bool {
	return st == store.StateRunning || st == store.StateFailed || st == store.StateDeleted || st == store.StateDegraded
}

// eventTime gives events a fixed millisecond precision, so they sort as text.
const eventTime = "2006-01-02T15:04:05.000Z07:00"

// streamEvents sends the current operation's events from its start (or after Last-Event-ID),
// then new ones as they happen, and ends once the backend has settled.
func (s *Server) streamEvents(c echo.Context) error {
	b, err := s.visibleBackend(c)
	if err != nil {
		return err
	}
	var after int64
	if v := c.Request().Header.Get("Last-Event-ID"); v != "" {
		after, _ = strconv.ParseInt(v, 10, 64)
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set(echo.HeaderCacheControl, "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	w.Flush()
	ctx, cancel := s.sessionBound(c)
	defer cancel()
	defer untilGoingAway(c, cancel)()
	op := b.Operation
	// The stream ends once the backend is in a settled state and the operation's last event was
	// written in that state: the reconciler records the event after it stores the state, so the
	// event that says the operation settled is always sent. Both are read from the store, so any
	// control plane's stream follows the leader's operations. Events up to Last-Event-ID are
	// read too, only to learn the state of the last one.
	// Reads use the request's own context, so a server that is stopping still sends what there
	// is before the stream ends (the panel's EventSource then reconnects, to another control
	// plane).
	read := c.Request().Context()
	var seen int64
	var last store.State
	for {
		wake := s.bus.changed(b.Name)
		events, err := s.store.Events(read, b.Name, op, seen)
		if err != nil {
			return nil
		}
		for _, e := range events {
			seen, last = e.ID, e.State
			if e.ID <= after {
				continue
			}
			data, _ := json.Marshal(eventJSON{ID: e.ID, Backend: e.Backend, Operation: e.Operation, At: e.At.UTC().Format(eventTime),
				Kind: e.Kind, State: string(e.State), Message: e.Message})
			fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.ID, e.Kind, data)
			after = e.ID
		}
		w.Flush()
		cur, err := s.store.Backend(read, b.Name)
		if isNotFound(err) {
			fmt.Fprintf(w, "event: end\ndata: {\"state\":\"deleted\",\"message\":\"purged\"}\n\n")
			w.Flush()
			return nil
		}
		if err != nil {
			return nil
		}
		if cur.Operation != op || (settled(cur.State) && (last == cur.State || seen == 0)) {
			fmt.Fprintf(w, "event: end\ndata: {\"state\":%q}\n\n", cur.State)
			w.Flush()
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-time.After(s.cfg.KeepAlive):
			fmt.Fprint(w, ": keep-alive\n\n")
			w.Flush()
		}
	}
}
