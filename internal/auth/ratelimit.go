package auth

import (
	"sync"
	"time"
)

// Limiter is a token bucket per key (for example "login:<ip>"): burst
// attempts at once, then one every interval.
type Limiter struct {
	mu       sync.Mutex
	now      func() time.Time
	burst    float64
	interval time.Duration
	buckets  map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewLimiter makes a limiter; now is the clock (time.Now, or a fake in tests).
func NewLimiter(now func() time.Time, burst int, interval time.Duration) *Limiter {
	return &Limiter{now: now, burst: float64(burst), interval: interval, buckets: map[string]*bucket{}}
}

// Allow takes one token for key and reports whether there was one, and
// otherwise how long until there is.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) > 100_000 {
			l.sweep(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.interval))
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(l.interval))
}

// sweep drops full buckets, which carry no information.
func (l *Limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+float64(now.Sub(b.at))/float64(l.interval) >= l.burst {
			delete(l.buckets, k)
		}
	}
}
