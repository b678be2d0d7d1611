package httpserve

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

var quiet = slog.New(slog.DiscardHandler)

// freeAddr returns a loopback address whose port nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find free port: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// waitUntil polls cond every 10ms until it holds, failing the test after 5 seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// accepting reports whether a TCP connection to addr can be opened now.
func accepting(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

// blockingHandler signals started when a request arrives, then waits for release (or the
// request's end) before writing "done".
func blockingHandler(started chan<- struct{}, release <-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, "done")
	})
}

type result struct {
	status int
	body   string
	err    error
}

// get fetches url in the background and delivers the outcome on the returned channel.
func get(url string) <-chan result {
	out := make(chan result, 1)
	go func() {
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		res, err := client.Get(url)
		if err != nil {
			out <- result{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		out <- result{status: res.StatusCode, body: string(b), err: err}
	}()
	return out
}

// blockingServer is Run serving blockingHandler on a free port, with what a test needs to
// drive it: the handler's started and release channels, the cancel of Run's context, and
// Run's result.
type blockingServer struct {
	addr    string
	started chan struct{}
	release chan struct{}
	cancel  context.CancelFunc
	runErr  chan error
}

func startBlocking(t *testing.T, stop Shutdown) blockingServer {
	t.Helper()
	srv := blockingServer{addr: freeAddr(t), started: make(chan struct{}, 1), release: make(chan struct{}), runErr: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv.cancel = cancel
	go func() {
		srv.runErr <- Serve(ctx, quiet, stop, Listener{Name: "web", Addr: srv.addr, Handler: blockingHandler(srv.started, srv.release)})
	}()
	waitUntil(t, "the server accepts connections", func() bool { return accepting(srv.addr) })
	return srv
}

func TestGracefulShutdownFinishesInFlightRequest(t *testing.T) {
	srv := startBlocking(t, Shutdown{Grace: 5 * time.Second})
	addr, started, release, cancel, runErr := srv.addr, srv.started, srv.release, srv.cancel, srv.runErr

	res := get("http://" + addr + "/")
	select {
	case <-started:
	case r := <-res:
		t.Fatalf("request ended before the handler started: %+v", r)
	case <-time.After(5 * time.Second):
		t.Fatal("handler did not start")
	}

	cancel()
	// Shutdown closes the listener first; only then let the in-flight request finish, so the
	// request is known to have outlived the start of the shutdown.
	waitUntil(t, "the listener is closed", func() bool { return !accepting(addr) })
	select {
	case err := <-runErr:
		t.Fatalf("Run returned while a request was in flight: %v", err)
	default:
	}
	close(release)

	select {
	case r := <-res:
		if r.err != nil {
			t.Fatalf("in-flight request failed: %v", r.err)
		}
		if r.status != http.StatusOK || r.body != "done" {
			t.Fatalf("in-flight request got %d %q, want 200 \"done\"", r.status, r.body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("in-flight request did not complete")
	}
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after shutdown")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("a new connection was accepted after Run returned")
	}
}

func TestShutdownGraceExceeded(t *testing.T) {
	srv := startBlocking(t, Shutdown{Grace: 100 * time.Millisecond})
	addr, started, release, cancel, runErr := srv.addr, srv.started, srv.release, srv.cancel, srv.runErr

	res := get("http://" + addr + "/")
	// Let the stuck handler and its client finish when the test ends.
	defer func() {
		close(release)
		<-res
	}()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("handler did not start")
	}

	cancel()
	select {
	case err := <-runErr:
		if err == nil || !strings.Contains(err.Error(), "shutdown") {
			t.Fatalf("Run returned %v, want a shutdown error", err)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Run returned %v, want it to wrap context.DeadlineExceeded", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the grace period")
	}
}

func TestPortTakenFailsStartAndReleasesOthers(t *testing.T) {
	// The first listener is opened here rather than on a port found free earlier, which
	// another test process could take in between (CI saw "listen public … in use").
	opened, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	first := opened.Addr().String()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()

	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})
	runErr := make(chan error, 1)
	go func() {
		runErr <- Run(context.Background(), quiet, time.Second,
			Listener{Name: "public", Open: opened, Handler: ok},
			Listener{Name: "admin", Addr: taken.Addr().String(), Handler: ok})
	}()

	select {
	case err := <-runErr:
		if err == nil {
			t.Fatal("Run started although a port was taken")
		}
		if !strings.Contains(err.Error(), "admin") || !strings.Contains(err.Error(), taken.Addr().String()) {
			t.Fatalf("error %q does not name the listener and its address", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not fail on a taken port")
	}

	again, err := net.Listen("tcp", first)
	if err != nil {
		t.Fatalf("the first listener's port was not released: %v", err)
	}
	_ = again.Close()
}

// A Later listener starts once its address is known, while the others already serve, and
// stops with them; its failure ends Serve.
func TestLaterListenerStartsWhenItsAddressIsKnown(t *testing.T) {
	first, late := freeAddr(t), freeAddr(t)
	known := make(chan struct{})
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, quiet, time.Second,
			Listener{Name: "first", Addr: first, Handler: ok},
			Listener{Name: "late", Handler: ok, Later: func(ctx context.Context) (string, error) {
				select {
				case <-known:
					return late, nil
				case <-ctx.Done():
					return "", ctx.Err()
				}
			}})
	}()
	waitUntil(t, "the first listener accepts", func() bool { return accepting(first) })
	if accepting(late) {
		t.Fatal("the late listener accepts before its address is known")
	}
	close(known)
	waitUntil(t, "the late listener accepts", func() bool { return accepting(late) })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if accepting(late) || accepting(first) {
		t.Fatal("a listener still accepts after Run returned")
	}

	failed := errors.New("no address on the admin network")
	err := Run(context.Background(), quiet, time.Second,
		Listener{Name: "first", Addr: freeAddr(t), Handler: ok},
		Listener{Name: "late", Handler: ok, Later: func(context.Context) (string, error) { return "", failed }})
	if !errors.Is(err, failed) {
		t.Fatalf("Run with a failing Later = %v, want %v", err, failed)
	}
}
