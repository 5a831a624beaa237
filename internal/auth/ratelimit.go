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
	shared   *shared // nil: this process only
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
	if l.shared != nil {
		if ok, wait, err := l.sharedAllow(key, false); err == nil {
			return ok, wait
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(key)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(l.interval))
}

// Refund gives back a token taken for key (an attempt that turned out fine).
func (l *Limiter) Refund(key string) {
	if l.shared != nil {
		if _, _, err := l.sharedAllow(key, true); err == nil {
			return
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(key)
	b.tokens = min(l.burst, b.tokens+1)
}

// Reset fills key's bucket again.
func (l *Limiter) Reset(key string) {
	if l.shared != nil {
		l.shared.forget(key)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.buckets, key)
}

// refill returns key's bucket topped up to now; l.mu is held.
func (l *Limiter) refill(key string) *bucket {
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
	return b
}

// sweep drops full buckets, which carry no information.
func (l *Limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+float64(now.Sub(b.at))/float64(l.interval) >= l.burst {
			delete(l.buckets, k)
		}
	}
}

// Backoff spaces out failing attempts per key: free attempts at first,
// then each further one waits twice as long as the one before (up to max).
// A success resets the key.
type Backoff struct {
	mu        sync.Mutex
	now       func() time.Time
	free      int
	base, max time.Duration
	keys      map[string]*backoffState
	shared    *shared // nil: this process only
}

type backoffState struct {
	failures int
	next     time.Time // no attempt before this
}

// NewBackoff makes a Backoff: free attempts, then base, 2·base, 4·base, …, max.
func NewBackoff(now func() time.Time, free int, base, max time.Duration) *Backoff {
	return &Backoff{now: now, free: free, base: base, max: max, keys: map[string]*backoffState{}}
}

// Begin records an attempt for key, counted as a failure until Reset, or
// refuses it and says how long to wait. Counting before the outcome is
// known means parallel guesses cannot slip past the backoff.
func (b *Backoff) Begin(key string) (bool, time.Duration) {
	if b.shared != nil {
		if ok, wait, err := b.sharedBegin(key); err == nil {
			return ok, wait
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	st, ok := b.keys[key]
	if !ok {
		if len(b.keys) > 100_000 {
			b.sweep(now)
		}
		st = &backoffState{}
		b.keys[key] = st
	}
	if now.Before(st.next) {
		return false, st.next.Sub(now)
	}
	b.fail(st, now)
	return true, 0
}

// fail counts one more failure and sets when the next attempt may come.
func (b *Backoff) fail(st *backoffState, now time.Time) {
	st.failures++
	if over := st.failures - b.free; over > 0 {
		wait := b.max
		if over < 32 && b.base<<(over-1) < b.max {
			wait = b.base << (over - 1)
		}
		st.next = now.Add(wait)
	}
}

// Reset forgets key's failures.
func (b *Backoff) Reset(key string) {
	if b.shared != nil {
		b.shared.forget(key)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.keys, key)
}

// sweep drops keys whose wait ended long ago; b.mu is held.
func (b *Backoff) sweep(now time.Time) {
	for k, st := range b.keys {
		if now.Sub(st.next) > b.max {
			delete(b.keys, k)
		}
	}
}

// loginLimits slow down password guessing without letting an attacker
// lock the owner out: the pair (address, account) backs off exponentially;
// the address alone has a token bucket (guessing many accounts); the
// account alone has only a loose ceiling (guessing from many addresses),
// which the owner's successful sign-in resets.
type loginLimits struct {
	pair    *Backoff
	addr    *Limiter
	account *Limiter
}

func newLoginLimits(now func() time.Time) *loginLimits {
	return &loginLimits{
		pair:    NewBackoff(now, 5, time.Second, 15*time.Minute),
		addr:    NewLimiter(now, 30, 6*time.Second),
		account: NewLimiter(now, 100, 36*time.Second),
	}
}

// begin admits a sign-in attempt or says how long to wait.
func (l *loginLimits) begin(ip, email string) (bool, time.Duration) {
	if ok, wait := l.pair.Begin(ip + "\x00" + email); !ok {
		return false, wait
	}
	if ok, wait := l.addr.Allow(ip); !ok {
		return false, wait
	}
	return l.account.Allow(email)
}

// succeeded clears what the attempt counted against the owner.
func (l *loginLimits) succeeded(ip, email string) {
	l.pair.Reset(ip + "\x00" + email)
	l.addr.Refund(ip)
	l.account.Reset(email)
}

// RateLimitError is ErrRateLimited with the time until the next attempt is
// admitted, for a truthful Retry-After.
type RateLimitError struct{ Wait time.Duration }

func (e *RateLimitError) Error() string { return ErrRateLimited.Error() }

// Is makes errors.Is(err, ErrRateLimited) hold.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }
