package controlplane

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sseEvent is one server-sent event as a client reads it.
type sseEvent struct {
	kind string
	data string
}

// openBackendsStream opens GET /api/events for the developer and returns its events as they come.
func openBackendsStream(t *testing.T, d *dev) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, d.p.url("admin", "/api/events"), nil)
	res, err := d.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET /api/events = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	out := make(chan sseEvent, 100)
	go func() {
		defer res.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(res.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.kind != "" {
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.kind = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return out
}

// nextEvent waits for the stream's next event of one of the kinds, skipping others, and fails
// the test if none comes in time.
func nextEvent(t *testing.T, events <-chan sseEvent, match func(sseEvent) bool) sseEvent {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("the stream ended")
			}
			if match(ev) {
				return ev
			}
		case <-timeout:
			t.Fatal("no matching event within 20 s")
		}
	}
}

// TestBackendsStream: the listing comes first, then each change of the caller's backends and
// each removal, and never another developer's backend (while the operator sees them all).
func TestBackendsStream(t *testing.T) {
	p := newTestPlane(t)
	operator := p.developer()
	ann := p.developer()
	bob := p.developer()
	ann.createBackend("alpha")

	annEvents := openBackendsStream(t, ann)
	bobEvents := openBackendsStream(t, bob)
	opEvents := openBackendsStream(t, operator)
	first := <-annEvents
	var listing struct{ Backends []backendJSON }
	if err := json.Unmarshal([]byte(first.data), &listing); first.kind != "backends" || err != nil ||
		len(listing.Backends) != 1 || listing.Backends[0].Name != "alpha" || listing.Backends[0].State != "running" ||
		listing.Backends[0].APIKey != "" || listing.Backends[0].Services != nil {
		t.Fatalf("first event = %+v (%v)", first, err)
	}
	if ev := <-bobEvents; ev.kind != "backends" || ev.data != `{"apiImage":"","backends":[]}` {
		t.Fatalf("bob's first event = %+v", ev)
	}
	<-opEvents

	ann.mustStatus(http.StatusAccepted, ann.post("/api/backends", map[string]any{"name": "beta"}))
	states := map[string]bool{}
	for !states["running"] {
		ev := nextEvent(t, annEvents, func(ev sseEvent) bool { return ev.kind == "backend" })
		var b backendJSON
		if err := json.Unmarshal([]byte(ev.data), &b); err != nil || b.Name != "beta" {
			t.Fatalf("backend event = %+v (%v)", ev, err)
		}
		states[b.State] = true
	}
	if !states["creating"] {
		t.Errorf("the stream skipped creating: %v", states)
	}
	nextEvent(t, opEvents, func(ev sseEvent) bool { return ev.kind == "backend" && strings.Contains(ev.data, `"state":"running"`) })

	ann.mustStatus(http.StatusAccepted, ann.delete("/api/backends/beta?purge=true"))
	if ev := nextEvent(t, annEvents, func(ev sseEvent) bool { return ev.kind == "removed" }); ev.data != `{"name":"beta"}` {
		t.Fatalf("removed event = %+v", ev)
	}
	nextEvent(t, opEvents, func(ev sseEvent) bool { return ev.kind == "removed" })

	// Bob's stream heard nothing of Ann's backends: his own backend is the first thing after the listing.
	bob.createBackend("gamma")
	ev := nextEvent(t, bobEvents, func(sseEvent) bool { return true })
	if !strings.Contains(ev.data, `"name":"gamma"`) {
		t.Fatalf("bob received %+v", ev)
	}

	p.anonymous().get("/api/events").expectError(http.StatusUnauthorized, "not_signed_in")
}

// TestBackendsStreamEndsWithItsSession: signing out (here, from the same account's other
// client) ends the listing stream at its next keep-alive instead of feeding a signed-out page.
func TestBackendsStreamEndsWithItsSession(t *testing.T) {
	p := newTestPlane(t, withConfig(func(c *Config) { c.KeepAlive = 100 * time.Millisecond }))
	ann := p.developer()
	events := openBackendsStream(t, ann)
	if ev := <-events; ev.kind != "backends" {
		t.Fatalf("first event = %+v", ev)
	}
	ann.mustStatus(http.StatusNoContent, ann.post("/api/auth/logout", nil))
	timeout := time.After(10 * time.Second)
	for {
		select {
		case _, open := <-events:
			if !open {
				return
			}
		case <-timeout:
			t.Fatal("the stream outlived its session")
		}
	}
}
