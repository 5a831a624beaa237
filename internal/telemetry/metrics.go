// Package telemetry holds the server's Prometheus metrics: one registry per
// server (no global state), HTTP request counts and latencies by route, Go
// runtime and process metrics, and gauges the composition root registers.
package telemetry

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the server's metric registry.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	reqs     children[reqKey, reqChildren]
	jobs     *jobMetrics
	apps     *appMetrics
	sub      *subsystemMetrics
}

// New makes a registry with the HTTP, Go and process metrics.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecode_http_requests_total", Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ecode_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route"}),
	}
	m.jobs = newJobMetrics(m.reg)
	m.apps = newAppMetrics(m.reg)
	m.sub = newSubsystemMetrics(m.reg)
	m.reg.MustRegister(m.requests, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveRequest records one finished request. route is the mux pattern
// ("" for unmatched paths, which are grouped as "other").
func (m *Metrics) ObserveRequest(route, method string, code int, d time.Duration) {
	if route == "" {
		route = "other"
	}
	method = knownMethod(method)
	k := reqKey{route, method, code}
	c, ok := m.reqs.load(k)
	if !ok {
		c = m.reqs.store(k, reqChildren{m.requests.WithLabelValues(route, method, strconv.Itoa(code)), m.latency.WithLabelValues(route)})
	}
	c.count.Inc()
	c.latency.Observe(d.Seconds())
}

// knownMethod is method if it is a standard HTTP method and "OTHER" if not:
// clients choose the method, and a label value per made-up method would
// grow the series without bound.
func knownMethod(method string) string {
	switch method {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE":
		return method
	}
	return "OTHER"
}

type reqKey struct {
	route, method string
	code          int
}

type reqChildren struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// Gauge registers a gauge whose value is read at scrape time.
func (m *Metrics) Gauge(name, help string, value func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, value))
}

// Counter registers a counter whose value is read at scrape time (it only
// grows).
func (m *Metrics) Counter(name, help string, value func() float64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, value))
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
