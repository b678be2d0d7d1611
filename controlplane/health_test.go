package controlplane

import (
	"net/http"
	"strings"
	"testing"
)

func TestHealthAndMetrics(t *testing.T) {
	p := newTestPlane(t, withConfig(func(c *Config) { c.MetricsToken = "metrics-secret" }))
	anon := p.anonymous()
	anon.mustStatus(http.StatusOK, anon.get("/healthz"))
	anon.mustStatus(http.StatusOK, anon.get("/readyz"))
	anon.get("/metrics").expectError(http.StatusUnauthorized, "invalid_metrics_token")

	d := p.developer()
	d.createBackend("metered")
	scrape := func() string {
		req := mustRequest(t, http.MethodGet, p.url("admin", "/metrics"))
		req.Header.Set("Authorization", "Bearer metrics-secret")
		r := do(t, anon.http, req)
		if r.status != http.StatusOK {
			t.Fatalf("metrics with the token = %d", r.status)
		}
		return string(r.body)
	}
	waitFor(t, "the running backend in the metrics", func() bool {
		return strings.Contains(scrape(), `backpack_backends{state="running"} 1`)
	})
	body := scrape()
	for _, want := range []string{`backpack_reconcile_operations_total{kind="apply",result="ok"} 1`,
		`backpack_controlplane_http_requests_total{method="POST",route="/api/backends",status="202"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "metered") {
		t.Error("metrics name a backend; labels must stay bounded")
	}

	// Readiness follows the database.
	_ = p.store.Close()
	anon.get("/readyz").expectError(http.StatusServiceUnavailable, "not_ready")
}
