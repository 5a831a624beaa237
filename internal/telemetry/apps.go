package telemetry

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// appMetrics are the published apps' requests, by project.
type appMetrics struct {
	requests *prometheus.CounterVec
	latency  prometheus.Histogram
	bytes    *prometheus.CounterVec
	children children[appKey, appChildren]
}

type appKey struct {
	project string
	code    int
}

type appChildren struct{ requests, bytes prometheus.Counter }

func newAppMetrics(reg *prometheus.Registry) *appMetrics {
	m := &appMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecode_deploy_requests_total", Help: "Requests to published apps by project and status class.",
		}, []string{"project", "class"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ecode_deploy_request_duration_seconds", Help: "Latency of requests to published apps.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecode_deploy_bytes_total", Help: "Response bytes published apps sent, by project.",
		}, []string{"project"}),
	}
	reg.MustRegister(m.requests, m.latency, m.bytes)
	return m
}

// ObserveApp records one request a published app answered.
func (m *Metrics) ObserveApp(projectID string, code int, d time.Duration, bytes int64) {
	k := appKey{projectID, code}
	c, ok := m.apps.children.load(k)
	if !ok {
		class := "5xx"
		if code >= 100 && code <= 599 {
			class = strconv.Itoa(code/100) + "xx"
		}
		c = m.apps.children.store(k, appChildren{m.apps.requests.WithLabelValues(projectID, class), m.apps.bytes.WithLabelValues(projectID)})
	}
	c.requests.Inc()
	m.apps.latency.Observe(d.Seconds())
	c.bytes.Add(float64(bytes))
}
