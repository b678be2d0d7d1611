package controlplane

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/controlplane/runtime"
)

// TestTwoControlPlanes runs two control planes on one PostgreSQL database, as during a
// start-first update: both serve the API, only the leader reconciles, a backend asked for
// through the other is deployed by the leader, a panel stream on one follows changes made
// through the other, and when the leader stops the other takes over and resumes its backends.
func TestTwoControlPlanes(t *testing.T) {
	onPostgres := onPostgres(t)
	// Streams and the leader's reconciler rely on the notices to hear the other plane, not on
	// their keep-alive or periodic pass.
	noPolling := withConfig(func(c *Config) { c.KeepAlive, c.ReconcileInterval = time.Minute, time.Minute })
	a := newTestPlane(t, onPostgres, noPolling)
	waitLeading(t, a)
	b := newTestPlane(t, onPostgres, noPolling)
	b.emails.Store(1000) // one database: B's developers' emails must differ from A's

	operator := a.developer()
	onB := b.developer()
	onA := onB.on(a) // the same browser, its requests balanced to the other plane

	// A panel connected to B sees a backend created through A, up to running.
	stream := openBackendsStream(t, onB)
	if ev := <-stream; ev.kind != "backends" {
		t.Fatalf("first event = %+v", ev)
	}
	onA.mustStatus(http.StatusAccepted, onA.post("/api/backends", map[string]any{"name": "shop"}))
	nextEvent(t, stream, func(ev sseEvent) bool {
		return ev.kind == "backend" && strings.Contains(ev.data, `"name":"shop"`) && strings.Contains(ev.data, `"state":"running"`)
	})

	// A backend created through B (which does not lead) is deployed by A, and B's event stream
	// of that operation follows it to its end.
	onB.mustStatus(http.StatusAccepted, onB.post("/api/backends", map[string]any{"name": "blog"}))
	events := onB.events("blog")
	if len(events) < 3 || events[len(events)-1].State != "running" {
		t.Fatalf("events on B = %+v", events)
	}
	if b.cp.leading.Load() {
		t.Fatal("B leads while A holds the lock")
	}
	for _, name := range []string{"shop", "blog"} {
		if st, err := a.local.Status(context.Background(), name); err != nil || !st.Ready {
			t.Fatalf("%s on A's runtime: %+v, %v", name, st, err)
		}
		if _, err := b.local.Status(context.Background(), name); !errors.Is(err, runtime.ErrNotFound) {
			t.Fatalf("%s on B's runtime: %v, want not found (B does not reconcile)", name, err)
		}
	}
	shop := onB.mustStatus(http.StatusOK, onB.get("/api/backends/shop")).backend()

	// Signing out through A ends B's stream at once, not at its next keep-alive.
	onA.mustStatus(http.StatusNoContent, onA.post("/api/auth/logout", nil))
	timeout := time.After(20 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-stream:
		case <-timeout:
			t.Fatal("B's stream outlived a sign-out made through A")
		}
	}

	// A stops as on SIGTERM while its HTTP server drains: it gives the lead up at once, B takes
	// over, and A still answers whatever reaches it meanwhile, streams and proxied requests
	// included (streams end after their first answer; the panel reconnects).
	stopped := time.Now()
	a.cp.stop()
	waitLeading(t, b)
	t.Logf("B leads %s after A stopped", time.Since(stopped).Round(time.Millisecond))
	for _, path := range []string{"/api/backends", "/api/backends/shop", "/api/events", "/api/backends/shop/events",
		"/api/backends/shop/admin/info", "/api/backends/shop/logs?follow=true&tail=5"} {
		operator.mustStatus(http.StatusOK, operator.get(path))
	}
	operator.mustStatus(http.StatusAccepted, operator.post("/api/backends", map[string]any{"name": "late"}))
	a.stop()
	// What A accepted while draining, B deploys.
	operator.on(b).waitState("late", "running")
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := b.local.Status(context.Background(), "shop")
		if err == nil && st.Ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B never resumed shop: %+v, %v", st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r := b.endUser("shop", shop.APIKey).send(http.MethodPost, "/auth/register",
		map[string]any{"email": "user@example.com", "password": "a long password"}); r.status != http.StatusCreated {
		t.Fatalf("shop through B after the takeover: %d %s", r.status, r.body)
	}
}

// TestLeadsAlone: on SQLite (the embedded default, one process) the control plane leads at
// once, and again after a restart.
func TestLeadsAlone(t *testing.T) {
	p := newTestPlane(t)
	waitLeading(t, p)
	p.restart()
	waitLeading(t, p)
}

// waitLeading waits until the plane holds the leader lock.
func waitLeading(t *testing.T, p *testPlane) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !p.cp.leading.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the control plane never took the lead")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
