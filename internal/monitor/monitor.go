// Package monitor keeps the server's own history for the admin Monitoring
// page: every node counts its HTTP requests, 5xx answers and latencies in
// memory and, every sampling interval (the composition root's ticker),
// writes them with the state of the moment (sandboxes, active users, agent
// spend, job queue, disk) as one row of the store; rows older than the
// retention are pruned as new ones are written. Series reads the rows of
// all nodes back as one series of about 120 points per range.
package monitor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"math"
	"sync"
	"time"

	"ecode/internal/store"
)

// Sources are where a sample's values come from; a nil source records 0.
type Sources struct {
	// Sandboxes is how many project sandboxes this node has open.
	Sandboxes func() int
	// Jobs counts the job queue's jobs by state.
	Jobs func(ctx context.Context) (map[string]int64, error)
	// Disk is the data directory's disk: bytes free and in total.
	Disk func() (free, total int64, err error)
	// SpendMeters are the ledger meters whose amounts are agent spend.
	SpendMeters []string
}

// Options configure a Monitor; Store is required.
type Options struct {
	Store *store.Store
	Now   func() time.Time
	Log   *slog.Logger
	// Interval is how often the composition root samples (Series makes no
	// step shorter).
	Interval time.Duration
	// Retention is how long samples are kept (default 7 days).
	Retention time.Duration
	// ActiveWindow: a user counts as active when one of their sessions was
	// used this recently (default 15 minutes).
	ActiveWindow time.Duration
	Sources
}

// Monitor counts this node's requests and writes samples.
type Monitor struct {
	o    Options
	node string

	mu   sync.Mutex
	win  window
	last time.Time // when the previous sample was taken (or the monitor made)
}

// New makes a monitor; the first sample covers the time from now.
func New(o Options) *Monitor {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Retention <= 0 {
		o.Retention = 7 * 24 * time.Hour
	}
	if o.ActiveWindow <= 0 {
		o.ActiveWindow = 15 * time.Minute
	}
	b := make([]byte, 6)
	rand.Read(b)
	return &Monitor{o: o, node: hex.EncodeToString(b), last: o.Now()}
}

// ObserveRequest counts one finished HTTP request (the API's OnRequest);
// a streamed one (WebSocket, event stream) counts without its duration,
// which is a connection's life rather than a latency.
func (m *Monitor) ObserveRequest(status int, d time.Duration, streamed bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.win.add(status, d, streamed)
}

// Run samples on every tick until ctx ends.
func (m *Monitor) Run(ctx context.Context, tick <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			if err := m.Sample(ctx); err != nil && ctx.Err() == nil {
				m.o.Log.Warn("monitoring sample", "err", err)
			}
		}
	}
}

// Sample writes one row: the requests since the previous sample and the
// state now, then prunes the rows older than the retention. A source that
// fails records 0 and its error is returned with the rest written.
func (m *Monitor) Sample(ctx context.Context) error {
	now := m.o.Now()
	m.mu.Lock()
	w, from := m.win, m.last
	m.win, m.last = window{}, now
	m.mu.Unlock()
	row := store.MonitorSample{Node: m.node, At: now, Seconds: int64(math.Round(now.Sub(from).Seconds())),
		Requests: w.requests, Errors5xx: w.errors, P50: w.quantile(0.5), P95: w.quantile(0.95)}
	var errs []error
	if m.o.Sandboxes != nil {
		row.SandboxesActive = int64(m.o.Sandboxes())
	}
	var err error
	if row.UsersActive, err = m.o.Store.ActiveUsers(ctx, now.Add(-m.o.ActiveWindow)); err != nil {
		errs = append(errs, err)
	}
	if row.AgentSpendMicros, err = m.o.Store.LedgerSpend(ctx, m.o.SpendMeters, from, now); err != nil {
		errs = append(errs, err)
	}
	if m.o.Jobs != nil {
		counts, err := m.o.Jobs(ctx)
		errs = append(errs, err)
		row.JobsQueued = counts["available"] + counts["scheduled"] + counts["retryable"] + counts["pending"]
		row.JobsRunning, row.JobsFailed = counts["running"], counts["discarded"]
	}
	if m.o.Disk != nil {
		row.DiskFreeBytes, row.DiskTotalBytes, err = m.o.Disk()
		errs = append(errs, err)
	}
	if err := m.o.Store.AddMonitorSample(ctx, row); err != nil {
		return errors.Join(append(errs, err)...)
	}
	if _, err := m.o.Store.PruneMonitorSamples(ctx, now.Add(-m.o.Retention)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// The latency histogram: bucket i holds durations up to bound(i), bounds
// growing by 20% from 100 µs to about 3 minutes; the last bucket holds
// everything longer.
const (
	buckets     = 80
	firstBound  = 100 * time.Microsecond
	boundGrowth = 1.2
)

func bound(i int) time.Duration {
	return time.Duration(float64(firstBound) * math.Pow(boundGrowth, float64(i)))
}

// window is what a node counted since its last sample.
type window struct {
	requests, errors int64
	timed            int64 // requests in hist: not streamed
	hist             [buckets]int64
}

func (w *window) add(status int, d time.Duration, streamed bool) {
	w.requests++
	if status >= 500 {
		w.errors++
	}
	if streamed {
		return
	}
	w.timed++
	i := 0
	if d > firstBound {
		i = min(buckets-1, int(math.Ceil(math.Log(float64(d)/float64(firstBound))/math.Log(boundGrowth))))
	}
	w.hist[i]++
}

// quantile is the upper bound of the bucket holding the q-quantile of the
// timed requests (so at most 20% above the true value), 0 without any.
func (w *window) quantile(q float64) time.Duration {
	if w.timed == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(w.timed)))
	var seen int64
	for i, n := range w.hist {
		if seen += n; seen >= max(rank, 1) {
			return bound(i)
		}
	}
	return bound(buckets - 1)
}
