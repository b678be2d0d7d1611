package controlplane

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestLogsTailZero: ?tail=0 means no past lines, as docker logs --tail 0 does, ?tail=N the
// last N and ?tail=all every line kept.
func TestLogsTailZero(t *testing.T) {
	p := newTestPlane(t)
	d := p.developer()
	d.createBackend("shop")
	api := &http.Client{Transport: p.transport()}
	deadline := time.Now().Add(20 * time.Second)
	for {
		// A refused request is logged at info level: the API's log has lines.
		if res, err := api.Get(p.url("shop-be", "/collections")); err == nil {
			res.Body.Close()
		}
		r := d.mustStatus(http.StatusOK, d.get("/api/backends/shop/logs?tail=2"))
		if lines := strings.Split(strings.TrimSpace(string(r.body)), "\n"); len(lines) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the API's log never had two lines: %q", r.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r := d.mustStatus(http.StatusOK, d.get("/api/backends/shop/logs?tail=0")); len(r.body) != 0 {
		t.Fatalf("tail=0 wrote %q; want no past lines", r.body)
	}
	all := d.mustStatus(http.StatusOK, d.get("/api/backends/shop/logs?tail=all"))
	if n := strings.Count(string(all.body), "\n"); n < 2 {
		t.Fatalf("tail=all wrote %d lines: %q", n, all.body)
	}
	wantError(d.get("/api/backends/shop/logs?tail=ALL"), http.StatusBadRequest, "invalid_query")
}
