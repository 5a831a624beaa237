package monitor

import (
	"context"
	"time"

	"ecode/internal/store"
)

// Ranges are the spans Series answers, by name.
var Ranges = map[string]time.Duration{"1h": time.Hour, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour}

// points is about how many points a series has.
const points = 120

// Point is the service over one step of a series. Requests, Errors5xx and
// AgentSpendMicros are totals over the step; the latencies are of this
// step's requests (P50: the nodes' medians weighted by their requests,
// P95: the highest node's); sandboxes are the nodes' peaks added up; the
// cluster-wide values (users, jobs) are the step's highest; disk is the
// fullest node's.
type Point struct {
	At               time.Time `json:"at"`
	Requests         int64     `json:"requests"`
	Errors5xx        int64     `json:"errors_5xx"`
	P50Ms            float64   `json:"p50_ms"`
	P95Ms            float64   `json:"p95_ms"`
	SandboxesActive  int64     `json:"sandboxes_active"`
	UsersActive      int64     `json:"users_active"`
	AgentSpendMicros int64     `json:"agent_spend_micros"`
	JobsQueued       int64     `json:"jobs_queued"`
	JobsRunning      int64     `json:"jobs_running"`
	JobsFailed       int64     `json:"jobs_failed"`
	DiskFreeBytes    int64     `json:"disk_free_bytes"`
	DiskTotalBytes   int64     `json:"disk_total_bytes"`
}

// Series is the monitoring history over a range, oldest point first; steps
// without samples have no point.
type Series struct {
	Range       string    `json:"range"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	StepSeconds int64     `json:"step_seconds"`
	Points      []Point   `json:"points"`
}

// Series reads the samples of the range ending now (name: a key of
// Ranges) as a series of steps of about range/120, and at least the
// sampling interval.
func (m *Monitor) Series(ctx context.Context, name string) (Series, error) {
	span := Ranges[name]
	step := max(span/points, m.o.Interval, time.Second).Truncate(time.Second)
	to := m.o.Now()
	from := to.Add(-span)
	rows, err := m.o.Store.MonitorSamples(ctx, from)
	if err != nil {
		return Series{}, err
	}
	return Series{Range: name, From: from, To: to, StepSeconds: int64(step / time.Second), Points: aggregate(rows, step)}, nil
}

// aggregate groups rows (oldest first) into steps: within a step each
// node's rows first, then the nodes together (see Point).
func aggregate(rows []store.MonitorSample, step time.Duration) []Point {
	out := []Point{}
	for i := 0; i < len(rows); {
		start := rows[i].At.Truncate(step)
		j := i
		for j < len(rows) && rows[j].At.Truncate(step).Equal(start) {
			j++
		}
		out = append(out, combine(start, rows[i:j]))
		i = j
	}
	return out
}

func combine(at time.Time, rows []store.MonitorSample) Point {
	p := Point{At: at}
	peak := map[string]int64{} // each node's sandbox peak
	var weighted float64
	for _, r := range rows {
		p.Requests += r.Requests
		p.Errors5xx += r.Errors5xx
		weighted += float64(r.Requests) * ms(r.P50)
		p.P95Ms = max(p.P95Ms, ms(r.P95))
		peak[r.Node] = max(peak[r.Node], r.SandboxesActive)
		p.UsersActive = max(p.UsersActive, r.UsersActive)
		p.JobsQueued, p.JobsRunning = max(p.JobsQueued, r.JobsQueued), max(p.JobsRunning, r.JobsRunning)
		p.JobsFailed = max(p.JobsFailed, r.JobsFailed)
		if r.DiskTotalBytes > 0 && (p.DiskTotalBytes == 0 || r.DiskFreeBytes < p.DiskFreeBytes) {
			p.DiskFreeBytes, p.DiskTotalBytes = r.DiskFreeBytes, r.DiskTotalBytes
		}
	}
	if p.Requests > 0 {
		p.P50Ms = weighted / float64(p.Requests)
	}
	for _, n := range peak {
		p.SandboxesActive += n
	}
	p.AgentSpendMicros = spend(rows)
	return p
}

// spend is the agent spend over a step: every node measures the whole
// cluster's ledger, so one node's rows (the one covering most seconds)
// count.
func spend(rows []store.MonitorSample) int64 {
	secs, sum := map[string]int64{}, map[string]int64{}
	best := ""
	for _, r := range rows {
		secs[r.Node] += r.Seconds
		sum[r.Node] += r.AgentSpendMicros
		if best == "" || secs[r.Node] > secs[best] {
			best = r.Node
		}
	}
	return sum[best]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
