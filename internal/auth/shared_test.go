package auth

import (
	"testing"
	"time"

	"ecode/internal/store"
	"ecode/internal/testutil/testdb"
)

// Two limiters sharing one store (two nodes) count against the same
// buckets and backoffs; a reset on one clears the other's.
func TestSharedLimits(t *testing.T) {
	testdb.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		now := time.Unix(1e9, 0)
		clock := func() time.Time { return now }
		l1, l2 := NewLimiter(clock, 4, time.Minute), NewLimiter(clock, 4, time.Minute)
		l1.Share(st, "x:")
		l2.Share(st, "x:")
		for i := range 4 {
			l := []*Limiter{l1, l2}[i%2]
			if ok, _ := l.Allow("ip"); !ok {
				t.Fatalf("attempt %d refused", i)
			}
		}
		if ok, wait := l1.Allow("ip"); ok || wait != time.Minute {
			t.Fatalf("fifth attempt over two nodes: ok=%v wait=%v, want refused for 1m", ok, wait)
		}
		if ok, _ := l2.Allow("other"); !ok {
			t.Fatal("another key was limited")
		}
		now = now.Add(time.Minute)
		if ok, _ := l2.Allow("ip"); !ok {
			t.Fatal("a minute later the bucket has not refilled")
		}
		l1.Reset("ip")
		for i := range 4 {
			if ok, _ := l2.Allow("ip"); !ok {
				t.Fatalf("after reset, attempt %d refused", i)
			}
		}

		b1, b2 := NewBackoff(clock, 2, time.Second, time.Hour), NewBackoff(clock, 2, time.Second, time.Hour)
		b1.Share(st, "y:")
		b2.Share(st, "y:")
		const k = "127.0.0.1\x00a@b.test" // as the sign-in limits key them
		b1.Begin(k)
		b2.Begin(k)
		if ok, _ := b1.Begin(k); !ok { // the third is admitted and sets a wait
			t.Fatal("third attempt refused")
		}
		if ok, wait := b2.Begin(k); ok || wait != time.Second {
			t.Fatalf("fourth attempt on the other node: ok=%v wait=%v, want a 1s wait", ok, wait)
		}
		b2.Reset(k)
		if ok, _ := b1.Begin(k); !ok {
			t.Fatal("reset on one node did not reach the other")
		}
	})
}
