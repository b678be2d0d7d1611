package coreapi

import (
	"time"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics is one replica's Prometheus registry. It is not the global registry because the
// local runtime runs many backends in one process.
type metrics struct {
	registry  *prometheus.Registry
	requests  *httpapi.RequestMetrics
	wsDropped prometheus.Counter
	// Function invocations by function and outcome ("ok", "error", "http_error", "timeout",
	// "memory", "crashed", "recursion", "canceled"), and their durations.
	fnCalls    *prometheus.CounterVec
	fnDuration *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{registry: prometheus.NewRegistry()}
	m.requests = httpapi.NewRequestMetrics(m.registry, "backpack_api")
	m.wsDropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "backpack_api_ws_slow_clients_dropped_total",
		Help: "Websocket connections closed because they did not read their messages in time.",
	})
	m.fnCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "backpack_api_function_invocations_total",
		Help: "Function invocations (requests, websocket calls and hooks) by function and outcome.",
	}, []string{"function", "outcome"})
	m.fnDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "backpack_api_function_duration_seconds",
		Help:    "How long function invocations took, by function.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
	}, []string{"function"})
	m.registry.MustRegister(m.wsDropped, m.fnCalls, m.fnDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// watchConnections exports the number of open websocket connections.
func (m *metrics) watchConnections(h *hub) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "backpack_api_ws_connections",
		Help: "Open websocket connections on this replica.",
	}, func() float64 { return float64(h.count()) }))
}

// watchKeyReloads exports how often API keys this replica did not know made it reload its
// settings: a few a second at most, however many wrong keys arrive.
func (m *metrics) watchKeyReloads(settings *core.Settings) {
	m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "backpack_api_unknown_key_reloads_total",
		Help: "Reloads of the settings caused by API keys this replica did not know (a key rotated on another replica, or a wrong key).",
	}, func() float64 { return float64(settings.UnknownKeyReloads()) }))
}

// observeFunction counts one function invocation.
func (m *metrics) observeFunction(function, outcome string, took time.Duration) {
	m.fnCalls.WithLabelValues(function, outcome).Inc()
	m.fnDuration.WithLabelValues(function).Observe(took.Seconds())
}

func (m *metrics) handler() echo.HandlerFunc {
	return echo.WrapHandler(promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
}
