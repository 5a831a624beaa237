package telemetry

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// jobMetrics are the job queue's: attempts finished by kind and state,
// time waiting to start and time running.
type jobMetrics struct {
	finished  *prometheus.CounterVec
	wait, run *prometheus.HistogramVec
}

func newJobMetrics(reg *prometheus.Registry) *jobMetrics {
	buckets := []float64{.01, .05, .1, .5, 1, 5, 10, 30, 60, 300, 1800}
	m := &jobMetrics{
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecode_job_attempts_total", Help: "Job attempts finished, by kind and the state they left the job in (completed, retryable, discarded, cancelled).",
		}, []string{"kind", "state"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ecode_job_wait_seconds", Help: "Time a job waited, available, before it started.", Buckets: buckets,
		}, []string{"kind"}),
		run: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ecode_job_run_seconds", Help: "Time a job attempt ran.", Buckets: buckets,
		}, []string{"kind"}),
	}
	reg.MustRegister(m.finished, m.wait, m.run)
	return m
}

// ObserveJob records one finished job attempt.
func (m *Metrics) ObserveJob(kind, state string, wait, run time.Duration) {
	m.jobs.finished.WithLabelValues(kind, state).Inc()
	m.jobs.wait.WithLabelValues(kind).Observe(wait.Seconds())
	m.jobs.run.WithLabelValues(kind).Observe(run.Seconds())
}

// GaugeVec registers a gauge with one label whose values are read at
// scrape time (label value → value).
func (m *Metrics) GaugeVec(name, help, label string, values func() map[string]float64) {
	m.reg.MustRegister(&funcVec{desc: prometheus.NewDesc(name, help, []string{label}, nil), typ: prometheus.GaugeValue, values: values})
}

// CounterVec registers a counter with one label whose values are read at
// scrape time (label value → value; they only grow).
func (m *Metrics) CounterVec(name, help, label string, values func() map[string]float64) {
	m.reg.MustRegister(&funcVec{desc: prometheus.NewDesc(name, help, []string{label}, nil), typ: prometheus.CounterValue, values: values})
}

type funcVec struct {
	desc   *prometheus.Desc
	typ    prometheus.ValueType
	values func() map[string]float64
}

func (g *funcVec) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

func (g *funcVec) Collect(ch chan<- prometheus.Metric) {
	for k, v := range g.values() {
		ch <- prometheus.MustNewConstMetric(g.desc, g.typ, v, k)
	}
}

// JobKinds makes the series of these job kinds exist (at zero) before
// their first attempt, so that rates and alerts see them from the start.
func (m *Metrics) JobKinds(kinds ...string) {
	for _, k := range kinds {
		for _, st := range []string{"completed", "retryable", "discarded", "cancelled"} {
			m.jobs.finished.WithLabelValues(k, st)
		}
		m.jobs.wait.WithLabelValues(k)
		m.jobs.run.WithLabelValues(k)
	}
}
