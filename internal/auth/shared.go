package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// SharedState keeps rate-limit state where every node of a cluster sees it
// (the store's rate_limits rows): UpdateRateLimit changes one key's value
// atomically, DeleteRateLimit forgets it.
type SharedState interface {
	UpdateRateLimit(ctx context.Context, key string, now time.Time, fn func(value string) (string, time.Time)) error
	DeleteRateLimit(ctx context.Context, key string) error
}

// sharedTimeout bounds one round trip to the shared state; past it (or on
// any error) the node limits on its own, in memory.
const sharedTimeout = 2 * time.Second

type shared struct {
	st     SharedState
	prefix string
}

func (s *shared) update(key string, now time.Time, fn func(value string) (string, time.Time)) error {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	return s.st.UpdateRateLimit(ctx, s.key(key), now, fn)
}

func (s *shared) forget(key string) error {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	return s.st.DeleteRateLimit(ctx, s.key(key))
}

// key is the stored key: the prefix and SHA-256 of the limiter's key, so
// the table holds no addresses or emails (and no bytes a database refuses).
func (s *shared) key(k string) string {
	sum := sha256.Sum256([]byte(k))
	return s.prefix + hex.EncodeToString(sum[:])
}

// Share keeps the limiter's buckets in st under prefix, so every node
// counts against the same ones.
func (l *Limiter) Share(st SharedState, prefix string) { l.shared = &shared{st, prefix} }

// Share keeps the backoff's state in st under prefix.
func (b *Backoff) Share(st SharedState, prefix string) { b.shared = &shared{st, prefix} }

type bucketJSON struct {
	Tokens float64 `json:"t"`
	At     int64   `json:"a"` // Unix µs
}

// sharedAllow is Allow against the shared bucket; ok false with err set
// when the shared state could not be reached.
func (l *Limiter) sharedAllow(key string, refund bool) (ok bool, wait time.Duration, err error) {
	now := l.now()
	err = l.shared.update(key, now, func(v string) (string, time.Time) {
		b := bucket{tokens: l.burst, at: now}
		var j bucketJSON
		if v != "" && json.Unmarshal([]byte(v), &j) == nil {
			b = bucket{tokens: j.Tokens, at: time.UnixMicro(j.At)}
		}
		b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.interval))
		switch {
		case refund:
			b.tokens = min(l.burst, b.tokens+1)
		case b.tokens >= 1:
			b.tokens--
			ok = true
		default:
			wait = time.Duration((1 - b.tokens) * float64(l.interval))
		}
		out, _ := json.Marshal(bucketJSON{Tokens: b.tokens, At: now.UnixMicro()})
		// Once full again the bucket says nothing: forget it then.
		full := now.Add(time.Duration((l.burst - b.tokens) * float64(l.interval)))
		return string(out), full
	})
	return ok, wait, err
}

type backoffJSON struct {
	Failures int   `json:"f"`
	Next     int64 `json:"n"` // Unix µs
}

// sharedBegin is Begin against the shared state.
func (b *Backoff) sharedBegin(key string) (ok bool, wait time.Duration, err error) {
	now := b.now()
	err = b.shared.update(key, now, func(v string) (string, time.Time) {
		var st backoffState
		var j backoffJSON
		if v != "" && json.Unmarshal([]byte(v), &j) == nil {
			st = backoffState{failures: j.Failures, next: time.UnixMicro(j.Next)}
		}
		if now.Before(st.next) {
			wait = st.next.Sub(now)
		} else {
			ok = true
			b.fail(&st, now)
		}
		out, _ := json.Marshal(backoffJSON{Failures: st.failures, Next: st.next.UnixMicro()})
		return string(out), now.Add(b.max).Add(max(0, st.next.Sub(now)))
	})
	return ok, wait, err
}

// ShareLimits keeps every sign-in, sign-up, passkey and second-factor
// limit in st, so that a cluster's nodes limit together: guesses spread
// over the nodes count as if sent to one.
func (s *Service) ShareLimits(st SharedState) {
	s.sharedState = st
	s.login.pair.Share(st, "login-pair:")
	s.login.addr.Share(st, "login-addr:")
	s.login.account.Share(st, "login-account:")
	s.signups.Share(st, "signup:")
	s.ceremonies.Share(st, "passkey:")
	s.mfaLimiter.Share(st, "second-factor:")
}
