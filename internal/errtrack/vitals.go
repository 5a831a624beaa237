package errtrack

import (
	"slices"
	"sort"
	"sync"
	"time"
)

// Vital names browsers may report (web vitals).
var vitalNames = map[string]bool{"LCP": true, "CLS": true, "INP": true, "FID": true, "TTFB": true, "FCP": true}

// maxVitalSamples is how many of the latest samples (within the
// retention) are kept per metric and page.
const maxVitalSamples = 200

// maxVitalPages bounds the pages tracked (paths come from clients).
const maxVitalPages = 100

// VitalSummary is the distribution of one metric on one page.
type VitalSummary struct {
	Name    string  `json:"name"`
	Page    string  `json:"page"`
	Samples int     `json:"samples"`
	P50     float64 `json:"p50"`
	P75     float64 `json:"p75"`
	P95     float64 `json:"p95"`
}

type vitalKey struct{ name, page string }

type vitalSample struct {
	at    time.Time
	value float64
}

// vitals keeps the latest samples of each metric per page, in memory,
// oldest first.
type vitals struct {
	mu      sync.Mutex
	samples map[vitalKey][]vitalSample
}

func newVitals() *vitals { return &vitals{samples: map[vitalKey][]vitalSample{}} }

// prune forgets the samples taken before cutoff (and the pages left
// without any).
func (v *vitals) prune(cutoff time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for k, s := range v.samples {
		s = since(s, cutoff)
		if len(s) == 0 {
			delete(v.samples, k)
		} else {
			v.samples[k] = s
		}
	}
}

// since returns the samples of s (oldest first) taken at or after cutoff.
func since(s []vitalSample, cutoff time.Time) []vitalSample {
	i, _ := slices.BinarySearchFunc(s, cutoff, func(x vitalSample, c time.Time) int { return x.at.Compare(c) })
	return s[i:]
}

// RecordVital keeps one sample of a web vital on page; it reports false
// for an unknown metric or an impossible value.
func (t *Tracker) RecordVital(name, page string, value float64) bool {
	if !vitalNames[name] || value < 0 || value > 10*60*1000 || value != value {
		return false
	}
	page = truncate(numbers.ReplaceAllString(page, ":n"), 200)
	v := t.vitals
	v.mu.Lock()
	defer v.mu.Unlock()
	k := vitalKey{name, page}
	s, ok := v.samples[k]
	if !ok && len(v.samples) >= maxVitalPages*len(vitalNames) {
		k.page = "(other)"
		s = v.samples[k]
	}
	now := t.now()
	s = since(s, now.Add(-t.keep))
	if len(s) >= maxVitalSamples {
		s = s[1:]
	}
	v.samples[k] = append(s, vitalSample{now, value})
	return true
}

// Vitals summarizes the kept samples within the retention, by metric
// then page.
func (t *Tracker) Vitals() []VitalSummary {
	cutoff := t.now().Add(-t.keep)
	v := t.vitals
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]VitalSummary, 0, len(v.samples))
	for k, s := range v.samples {
		s = since(s, cutoff)
		if len(s) == 0 {
			continue
		}
		sorted := make([]float64, len(s))
		for i, x := range s {
			sorted[i] = x.value
		}
		slices.Sort(sorted)
		out = append(out, VitalSummary{Name: k.name, Page: k.page, Samples: len(s),
			P50: quantile(sorted, 0.5), P75: quantile(sorted, 0.75), P95: quantile(sorted, 0.95)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Page < out[j].Page
	})
	return out
}

// quantile is the nearest-rank q-quantile of sorted (not empty).
func quantile(sorted []float64, q float64) float64 {
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// limiter is a token bucket per client address.
type limiter struct {
	mu      sync.Mutex
	rate    float64 // tokens per second
	burst   float64
	now     func() time.Time
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxBuckets bounds the addresses remembered; past it, full buckets are
// forgotten (and if none is full, every one: a flood of addresses).
const maxBuckets = 10000

func newLimiter(perMinute, burst int, now func() time.Time) *limiter {
	return &limiter{rate: float64(perMinute) / 60, burst: float64(burst), now: now, buckets: map[string]*bucket{}}
}

func (l *limiter) allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.sweep(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (l *limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxBuckets {
		clear(l.buckets)
	}
}
