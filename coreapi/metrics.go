package coreapi

import (
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
}

func newMetrics() *metrics {
	m := &metrics{registry: prometheus.NewRegistry()}
	m.requests = httpapi.NewRequestMetrics(m.registry, "backpack_api")
	m.wsDropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "backpack_api_ws_slow_clients_dropped_total",
		Help: "Websocket connections closed because they did not read their messages in time.",
	})
	m.registry.MustRegister(m.wsDropped,
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

func (m *metrics) handler() echo.HandlerFunc {
	return echo.WrapHandler(promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
}
