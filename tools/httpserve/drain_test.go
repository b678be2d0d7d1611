package httpserve

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"
)

// phaseHandler answers /readyz as the binaries do (503 while draining), /stream by holding
// the answer open until the server goes away, and anything else with "ok".
func phaseHandler(streaming chan<- struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/readyz":
			if Unready(r.Context()) {
				http.Error(w, "draining", http.StatusServiceUnavailable)
				return
			}
			_, _ = io.WriteString(w, "ready")
		case "/stream":
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			streaming <- struct{}{}
			select {
			case <-GoingAway(r.Context()).Done():
				_, _ = io.WriteString(w, "going away")
			case <-r.Context().Done():
			}
		default:
			_, _ = io.WriteString(w, "ok")
		}
	})
}

// fetch GETs url with client and returns the status, whether the server asked for the
// connection to be closed, and the body.
func fetch(t *testing.T, client *http.Client, url string) (int, bool, string) {
	t.Helper()
	res, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", url, err)
	}
	return res.StatusCode, res.Close, string(b)
}

// TestDrainKeepsServingWhileNotReady: after the context ends, for the drain, readiness answers
// 503 while other requests are still answered, each closing its connection; a long-lived
// answer is ended when the drain is over, and then Serve returns cleanly.
func TestDrainKeepsServingWhileNotReady(t *testing.T) {
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	streaming := make(chan struct{}, 1)
	runErr := make(chan error, 1)
	go func() {
		runErr <- Serve(ctx, quiet, Shutdown{Drain: 2 * time.Second, Grace: 5 * time.Second},
			Listener{Name: "web", Addr: addr, Handler: phaseHandler(streaming)})
	}()
	waitUntil(t, "the server accepts connections", func() bool { return accepting(addr) })
	base := "http://" + addr
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	if status, closing, body := fetch(t, client, base+"/readyz"); status != http.StatusOK || closing || body != "ready" {
		t.Fatalf("before the drain: /readyz %d %q, connection close %v", status, body, closing)
	}

	stream := get(base + "/stream")
	select {
	case <-streaming:
	case r := <-stream:
		t.Fatalf("stream ended before it started: %+v", r)
	case <-time.After(5 * time.Second):
		t.Fatal("stream did not start")
	}

	drainStarted := time.Now()
	cancel()
	waitUntil(t, "/readyz closes its connection", func() bool {
		_, closing, _ := fetch(t, client, base+"/readyz")
		return closing
	})
	if status, _, _ := fetch(t, client, base+"/readyz"); status != http.StatusOK && time.Since(drainStarted) < time.Second {
		t.Fatalf("/readyz answered %d %s into the drain, before its half-way point", status, time.Since(drainStarted))
	}
	waitUntil(t, "/readyz answers 503", func() bool {
		status, _, _ := fetch(t, client, base+"/readyz")
		return status == http.StatusServiceUnavailable
	})
	if time.Since(drainStarted) < time.Second {
		t.Errorf("/readyz answered 503 %s into a 2s drain, before its half-way point", time.Since(drainStarted))
	}
	status, closing, body := fetch(t, client, base+"/")
	if status != http.StatusOK || body != "ok" {
		t.Fatalf("during the drain: / answered %d %q, want 200 ok", status, body)
	}
	if !closing {
		t.Error("during the drain an answer did not carry Connection: close")
	}
	select {
	case r := <-stream:
		t.Fatalf("the stream ended during the drain: %+v", r)
	default:
	}

	select {
	case r := <-stream:
		if r.err != nil || r.status != http.StatusOK || r.body != "going away" {
			t.Fatalf("the stream ended with %+v, want 200 \"going away\"", r)
		}
		if time.Since(drainStarted) < 2*time.Second {
			t.Errorf("the stream was told to go %s after the context ended, before the 2s drain was over", time.Since(drainStarted))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream was not ended after the drain")
	}
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the drain")
	}
	if accepting(addr) {
		t.Fatal("the listener still accepts after Serve returned")
	}
}

// TestRequestInFlightAcrossTheDrainFinishes: a request that started before the context ended
// and outlives the drain still gets its answer within the grace.
func TestRequestInFlightAcrossTheDrainFinishes(t *testing.T) {
	srv := startBlocking(t, Shutdown{Drain: 500 * time.Millisecond, Grace: 5 * time.Second})
	res := get("http://" + srv.addr + "/")
	select {
	case <-srv.started:
	case <-time.After(5 * time.Second):
		t.Fatal("handler did not start")
	}
	srv.cancel()
	waitUntil(t, "the drain is over and the listener closed", func() bool { return !accepting(srv.addr) })
	close(srv.release)
	select {
	case r := <-res:
		if r.err != nil || r.status != http.StatusOK || r.body != "done" {
			t.Fatalf("in-flight request got %+v, want 200 \"done\"", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("in-flight request did not complete")
	}
	if err := <-srv.runErr; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

// TestPhaseOutsideServe: requests not served by Serve (tests' httptest servers, the local
// runtime's in-process backends) never drain and never go away.
func TestPhaseOutsideServe(t *testing.T) {
	ctx := context.Background()
	if Unready(ctx) {
		t.Error("Unready is true outside Serve")
	}
	select {
	case <-GoingAway(ctx).Done():
		t.Error("GoingAway is done outside Serve")
	default:
	}
}
