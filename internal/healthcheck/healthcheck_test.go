package healthcheck

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestProbeHost(t *testing.T) {
	for host, want := range map[string]string{"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "127.0.0.1", "10.0.0.5": "10.0.0.5", "127.0.0.1": "127.0.0.1"} {
		if got := probeHost(host); got != want {
			t.Errorf("probeHost(%q) = %q, want %q", host, got, want)
		}
	}
}

// TestProbe: 200 is healthy; anything else is one line with the status, the contract's code
// and message, and which checks failed.
func TestProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("as") {
		case "ready":
			_, _ = w.Write([]byte(`{"status":"ok"}`))
		case "down":
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":{"code":"not_ready","message":"a dependency is unreachable","details":{"checks":{"redis":"unreachable","mongo":"ok"}}}}`))
		default:
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	if err := Probe(ctx, srv.URL+"/readyz?as=ready", time.Second); err != nil {
		t.Fatalf("ready: %v", err)
	}
	err := Probe(ctx, srv.URL+"/readyz?as=down", time.Second)
	if err == nil || !strings.Contains(err.Error(), "503 not_ready") || !strings.Contains(err.Error(), "(redis unreachable)") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("not ready: %v", err)
	}
	if err := Probe(ctx, srv.URL+"/readyz?as=other", time.Second); err == nil || !strings.Contains(err.Error(), "502") {
		t.Fatalf("bad gateway: %v", err)
	}
	if err := Run(ctx, "x", []string{"--port", "0"}, func(string) string { return "" }, 8080, "", "/readyz"); err == nil || !strings.Contains(err.Error(), "port") {
		t.Fatalf("port 0: %v", err)
	}
}
