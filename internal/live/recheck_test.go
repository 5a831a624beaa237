package live

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeHealth is a revocation bus whose health the test sets.
type fakeHealth struct {
	mu      sync.Mutex
	healthy bool
	changed chan struct{}
}

func newFakeHealth(healthy bool) *fakeHealth {
	return &fakeHealth{healthy: healthy, changed: make(chan struct{})}
}

func (h *fakeHealth) Watch() (bool, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.healthy, h.changed
}

func (h *fakeHealth) set(ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.healthy = ok
	close(h.changed)
	h.changed = make(chan struct{})
}

// While the bus is healthy the re-check neither ticks nor reads the store;
// while it is down each tick checks every distinct key once and ends the
// requests of the keys that no longer hold, each with the cause Check gave
// (Revoked, ProjectDeleted); when it is healthy again it checks once at
// once, then stops. The counters say so.
func TestRecheckRunsOnlyWhileTheBusIsDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := New()
		stale := Key{ProjectID: "p1", UserID: "a", SessionID: "s1", Role: "editor"}
		fine := Key{ProjectID: "p1", UserID: "b", SessionID: "s2", Role: "viewer"}
		var staleCtx []context.Context
		for range 2 { // two requests, one key: checked once
			ctx, done := r.Track(context.Background(), stale)
			defer done()
			staleCtx = append(staleCtx, ctx)
		}
		fineCtx, done := r.Track(context.Background(), fine)
		defer done()
		gone := Key{ProjectID: "p2", UserID: "a", SessionID: "s1", Role: "owner"}
		goneCtx, done := r.Track(context.Background(), gone)
		defer done()

		var mu sync.Mutex
		var checked [][]Key
		revoked := false
		health := newFakeHealth(true)
		tick := make(chan time.Time)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go r.Recheck(ctx, Recheck{Health: health, Tick: tick, Check: func(_ context.Context, keys []Key) (map[Key]*Ended, error) {
			mu.Lock()
			defer mu.Unlock()
			checked = append(checked, keys)
			if revoked {
				return map[Key]*Ended{stale: Revoked, gone: ProjectDeleted}, nil
			}
			return nil, nil
		}})
		passes := func() int {
			synctest.Wait()
			mu.Lock()
			defer mu.Unlock()
			return len(checked)
		}
		takesTick := func() bool {
			synctest.Wait() // the re-check is blocked: on the tick or not
			select {
			case tick <- time.Now():
				return true
			default:
				return false
			}
		}

		if takesTick() || passes() != 0 {
			t.Fatal("the re-check ran while the bus was healthy")
		}
		health.set(false)
		if !takesTick() || passes() != 1 {
			t.Fatal("a tick while the bus was down did not re-check")
		}
		if len(checked[0]) != 3 {
			t.Errorf("checked %v, want the 3 distinct keys", checked[0])
		}
		if fineCtx.Err() != nil || staleCtx[0].Err() != nil || goneCtx.Err() != nil {
			t.Fatal("a re-check ended requests that still hold")
		}
		mu.Lock()
		revoked = true
		mu.Unlock()
		if !takesTick() || passes() != 2 {
			t.Fatal("the second tick did not re-check")
		}
		for _, c := range staleCtx {
			if !errors.Is(context.Cause(c), Revoked) {
				t.Errorf("a request of a revoked key ended with %v, want Revoked", context.Cause(c))
			}
		}
		if !errors.Is(context.Cause(goneCtx), ProjectDeleted) {
			t.Errorf("a request on a deleted project ended with %v, want ProjectDeleted", context.Cause(goneCtx))
		}
		if fineCtx.Err() != nil {
			t.Error("the request of a key that holds was ended")
		}
		if r.Len() != 1 {
			t.Errorf("%d requests registered, want 1", r.Len())
		}

		health.set(true) // back: one re-check at once, then none
		if passes() != 3 {
			t.Errorf("%d re-checks after the bus came back, want 3 (one at once)", passes())
		}
		if takesTick() || passes() != 3 {
			t.Error("the re-check ran on a tick after the bus came back")
		}
		st := r.Rechecks()
		if got := [5]int64{st.Passes.Load(), st.Failed.Load(), st.Keys.Load(), st.Revoked.Load(), st.Deleted.Load()}; got != [5]int64{3, 0, 3 + 3 + 1, 2, 1} {
			t.Errorf("counters passes, failed, keys, revoked, deleted = %v, want [3 0 7 2 1]", got)
		}
	})
}

// A store error ends nothing.
func TestRecheckErrorEndsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := New()
		k := Key{UserID: "a", TokenID: "t1"}
		rctx, done := r.Track(context.Background(), k)
		defer done()
		tick := make(chan time.Time)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go r.Recheck(ctx, Recheck{Health: newFakeHealth(false), Tick: tick, Check: func(context.Context, []Key) (map[Key]*Ended, error) {
			return map[Key]*Ended{k: Revoked}, errors.New("store unreachable")
		}})
		tick <- time.Now()
		synctest.Wait()
		if rctx.Err() != nil {
			t.Error("a re-check that failed ended a request")
		}
		if st := r.Rechecks(); st.Passes.Load() != 1 || st.Failed.Load() != 1 {
			t.Errorf("passes %d, failed %d, want 1 and 1", st.Passes.Load(), st.Failed.Load())
		}
	})
}
