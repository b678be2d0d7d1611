package controlplane

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/controlplane/runtime"
	"github.com/backpackhq/backpack/controlplane/store"
)

// Long-lived answers of the control plane end with the session that opened them.

// shortSession opens a session for the developer straight in the store, expiring after ttl,
// and returns its cookie header and CSRF token.
func (d *dev) shortSession(ttl time.Duration) (cookie, csrf string) {
	d.p.t.Helper()
	var me developerJSON
	d.mustStatus(http.StatusOK, d.get("/api/auth/me")).decode(&me)
	token, csrf := randomToken(), randomToken()
	now := time.Now()
	if err := d.p.store.CreateSession(context.Background(), store.Session{TokenHash: hashToken(token), DeveloperID: me.ID,
		CSRFToken: csrf, CreatedAt: now, ExpiresAt: now.Add(ttl)}); err != nil {
		d.p.t.Fatal(err)
	}
	return sessionCookie + "=" + token, csrf
}

// openStreams opens, with the given session cookie, a proxied admin websocket and a followed
// log stream of the backend shop and the event stream of the backend stuck, and returns a
// channel per stream that is closed when it ends.
func openStreams(t *testing.T, p *testPlane, cookie string) map[string]<-chan struct{} {
	t.Helper()
	ended := map[string]<-chan struct{}{}
	conn, res, err := p.dialWS(strings.Replace(p.url("admin", "/api/backends/shop/admin/ws"), "http", "ws", 1),
		http.Header{"Origin": {p.url("admin", "")}, "Cookie": {cookie}}, nil)
	if err != nil {
		t.Fatalf("admin websocket: %v %v", err, res)
	}
	t.Cleanup(func() { conn.Close() })
	wsDone := make(chan struct{})
	go func() {
		defer close(wsDone)
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	ended["admin websocket"] = wsDone
	for what, path := range map[string]string{
		"log stream":   "/api/backends/shop/logs?follow=true&tail=1",
		"event stream": "/api/backends/stuck/events",
	} {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.url("admin", path), nil)
		req.Header.Set("Cookie", cookie)
		res, err := (&http.Client{Transport: p.transport()}).Do(req)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", what, res.StatusCode)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer res.Body.Close()
			_, _ = io.Copy(io.Discard, res.Body)
		}()
		ended[what] = done
	}
	return ended
}

// expectStreamsEnd waits, generously, for every stream to end.
func expectStreamsEnd(t *testing.T, ended map[string]<-chan struct{}, after string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for what, done := range ended {
		select {
		case <-done:
		case <-deadline:
			t.Fatalf("the %s outlived its session (%s)", what, after)
		}
	}
}

// TestStreamsEndWithTheirSession: the proxied admin websocket, a followed log stream and an
// event stream stay open while their session lasts, and end soon after the developer signs out
// or the session expires, without waiting for the keep-alive period (left at its default).
func TestStreamsEndWithTheirSession(t *testing.T) {
	p := newTestPlane(t, withRuntime(func(rt runtime.Runtime) runtime.Runtime {
		return stuckRuntime{Runtime: rt, Router: rt.(runtime.Router)}
	}))
	d := p.developer()
	d.createBackend("shop")
	d.mustStatus(http.StatusAccepted, d.post("/api/backends", map[string]any{"name": "stuck"}))

	sub(t, p, "sign-out", func(t *testing.T) {
		cookie, csrf := d.shortSession(time.Hour)
		ended := openStreams(t, p, cookie)
		time.Sleep(500 * time.Millisecond)
		for what, done := range ended {
			select {
			case <-done:
				t.Fatalf("the %s ended while its session lasted", what)
			default:
			}
		}
		d.mustStatus(http.StatusNoContent, p.anonymous().withHeaders(http.MethodPost, "/api/auth/logout", nil,
			http.Header{"Cookie": {cookie}, csrfHeader: {csrf}}))
		expectStreamsEnd(t, ended, "signed out")
	})

	sub(t, p, "expiry", func(t *testing.T) {
		cookie, _ := d.shortSession(3 * time.Second)
		ended := openStreams(t, p, cookie)
		expectStreamsEnd(t, ended, "expired")
	})

	// The developer's other session was never touched.
	d.mustStatus(http.StatusOK, d.get("/api/backends/shop"))
}
