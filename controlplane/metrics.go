package controlplane

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/backpackhq/backpack/controlplane/store"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics is the control plane's own registry (not the global one, so tests can run several
// control planes in one process).
type metrics struct {
	registry   *prometheus.Registry
	requests   *httpapi.RequestMetrics
	operations *prometheus.CounterVec
	duration   *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{registry: prometheus.NewRegistry()}
	m.requests = httpapi.NewRequestMetrics(m.registry, "backpack_controlplane")
	m.operations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "backpack_reconcile_operations_total",
		Help: "Reconciler operations (apply, resume, remove, health) by result.",
	}, []string{"kind", "result"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "backpack_reconcile_operation_duration_seconds",
		Help:    "Time a reconciler operation took, readiness wait included.",
		Buckets: []float64{.01, .05, .1, .5, 1, 2, 5, 10, 30, 60, 120, 300},
	}, []string{"kind"})
	m.registry.MustRegister(m.operations, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return m.requests.Middleware(next)
}

func (m *metrics) operation(kind string, err error, took time.Duration) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.operations.WithLabelValues(kind, result).Inc()
	m.duration.WithLabelValues(kind).Observe(took.Seconds())
}

// watchBackends exports how many backends are in each state, as of the reconciler's last pass
// (only the leader's reconciler runs).
func (m *metrics) watchBackends(r *reconciler) {
	states := []store.State{store.StateCreating, store.StateRunning, store.StateDegraded, store.StateFailed, store.StateDeleting, store.StateDeleted}
	for _, st := range states {
		m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "backpack_backends", Help: "Backends by state at the reconciler's last pass; all 0 in a control plane that does not lead.",
			ConstLabels: prometheus.Labels{"state": string(st)},
		}, func() float64 { return float64(r.stateCounts()[st]) }))
	}
}

// watchLeader exports whether this control plane leads (reconciles): 1 in exactly one of the
// control planes sharing a database.
func (m *metrics) watchLeader(leading *atomic.Bool) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "backpack_controlplane_leader", Help: "1 while this control plane holds the leader lock and reconciles, else 0.",
	}, func() float64 {
		if leading.Load() {
			return 1
		}
		return 0
	}))
}

// serveMetrics is Prometheus's endpoint; with a metrics token configured it needs it as a
// bearer token.
func (s *Server) serveMetrics(c echo.Context) error {
	if want := s.cfg.MetricsToken; want != "" {
		got, _ := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
		if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			return httpapi.NewError(http.StatusUnauthorized, "invalid_metrics_token", "send the metrics token as a bearer token")
		}
	}
	promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}).ServeHTTP(c.Response(), c.Request())
	return nil
}
