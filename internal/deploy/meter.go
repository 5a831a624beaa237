package deploy

import (
	"context"
	"sync"
	"time"

	"ecode/internal/store"
)

// UsageRecorder records metered usage (billing.Recorder): all the events
// or none (one transaction), idempotent on each event's IdempotencyKey.
type UsageRecorder interface {
	RecordUsages(ctx context.Context, evs []store.UsageEvent) error
}

// RequestObserver is told of every request the router answered
// (telemetry.Metrics.ObserveApp).
type RequestObserver interface {
	ObserveApp(projectID string, code int, d time.Duration, bytes int64)
}

// Usage event kinds the service records.
const (
	UsageBandwidth = "bandwidth_bytes"
	UsageInstance  = "deploy_instance_seconds" // standard instance-seconds: seconds × the size's weight
)

// Counts are a project's request totals since the process started.
type Counts struct {
	Requests int64            `json:"requests"`
	Classes  map[string]int64 `json:"classes"` // "2xx", "3xx", "4xx", "5xx"
	Bytes    int64            `json:"bytes"`
}

// meter aggregates bytes served and instance time per project until a
// flush records them as usage events. Events that failed to record keep
// their idempotency key and are tried again at the next flush.
type meter struct {
	mu      sync.Mutex
	bytes   map[string]int64   // project → bytes not yet in an event
	seconds map[string]float64 // project → instance seconds not yet in an event
	retry   []store.UsageEvent // built, not yet recorded
	totals  map[string]*Counts
}

func newMeter() *meter {
	return &meter{bytes: map[string]int64{}, seconds: map[string]float64{}, totals: map[string]*Counts{}}
}

func (m *meter) served(projectID string, code int, n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.bytes[projectID] += n
	c := m.totals[projectID]
	if c == nil {
		c = &Counts{Classes: map[string]int64{}}
		m.totals[projectID] = c
	}
	c.Requests++
	c.Bytes += n
	c.Classes[StatusClass(code)]++
}

func (m *meter) ran(projectID string, secs float64) {
	if secs <= 0 {
		return
	}
	m.mu.Lock()
	m.seconds[projectID] += secs
	m.mu.Unlock()
}

// StatusClass is "2xx" … "5xx" for an HTTP status code (a constant: it is
// looked up for every request the router answers).
func StatusClass(code int) string {
	switch {
	case code >= 100 && code < 200:
		return "1xx"
	case code >= 200 && code < 300:
		return "2xx"
	case code >= 300 && code < 400:
		return "3xx"
	case code >= 400 && code < 500:
		return "4xx"
	}
	return "5xx"
}

// take turns what was aggregated into events (plus the ones to retry).
func (m *meter) take(now time.Time) []store.UsageEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	evs := m.retry
	m.retry = nil
	batch := newID()
	for p, n := range m.bytes {
		if n > 0 {
			evs = append(evs, store.UsageEvent{ID: newID(), IdempotencyKey: "deploy-bw:" + p + ":" + batch, ProjectID: p,
				Kind: UsageBandwidth, Quantity: float64(n), Unit: "byte", CreatedAt: now})
		}
	}
	for p, s := range m.seconds {
		if s > 0 {
			evs = append(evs, store.UsageEvent{ID: newID(), IdempotencyKey: "deploy-inst:" + p + ":" + batch, ProjectID: p,
				Kind: UsageInstance, Quantity: s, Unit: "second", CreatedAt: now})
		}
	}
	clear(m.bytes)
	clear(m.seconds)
	return evs
}

func (m *meter) requeue(evs ...store.UsageEvent) {
	m.mu.Lock()
	m.retry = append(m.retry, evs...)
	m.mu.Unlock()
}

// Counts returns the project's request totals since the server started.
func (s *Service) Counts(projectID string) Counts {
	s.meter.mu.Lock()
	defer s.meter.mu.Unlock()
	c := Counts{Classes: map[string]int64{}}
	if t := s.meter.totals[projectID]; t != nil {
		c.Requests, c.Bytes = t.Requests, t.Bytes
		for k, v := range t.Classes {
			c.Classes[k] = v
		}
	}
	return c
}

// FlushUsage records the bytes served and the running instances' time
// since the last flush as usage events. Run calls it every
// Options.UsageFlush, and Close once more.
func (s *Service) FlushUsage(ctx context.Context) {
	now := s.d.Now()
	s.mu.Lock()
	ds := make([]*deployment, 0, len(s.deps))
	for _, d := range s.deps {
		ds = append(ds, d)
	}
	s.mu.Unlock()
	for _, d := range ds {
		d.mu.Lock()
		inst := d.active
		d.mu.Unlock()
		if inst != nil {
			s.meter.ran(d.projectID, inst.accrue(now))
		}
	}
	if s.d.Usage == nil {
		s.meter.take(now)
		return
	}
	evs := s.meter.take(now) // every deployment's, in one transaction
	if len(evs) == 0 {
		return
	}
	if err := s.d.Usage.RecordUsages(ctx, evs); err != nil {
		s.d.Log.Warn("record deployment usage; kept for the next flush", "events", len(evs), "err", err)
		s.meter.requeue(evs...)
	}
}

// flushLoop flushes usage every Options.UsageFlush until ctx ends.
func (s *Service) flushLoop(ctx context.Context) {
	t := time.NewTicker(s.opts.UsageFlush)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.FlushUsage(ctx)
		}
	}
}

// accrue returns the seconds the instance's process ran since the last
// call times its size's weight (0 for static releases, which run nothing).
func (i *instance) accrue(now time.Time) float64 {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.metered.IsZero() {
		return 0
	}
	secs := now.Sub(i.metered).Seconds() * i.weight
	i.metered = now
	return secs
}
