package live

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// Health is what Recheck watches: whether revocations reach this node
// (revoke.Bus.Watch), and a channel closed when that changes.
type Health interface {
	Watch() (healthy bool, changed <-chan struct{})
}

// Recheck says how a node re-checks its live requests while revocations
// may not reach it.
type Recheck struct {
	Health Health
	// Every is the time between two re-checks while Health is down.
	Every time.Duration
	// Tick, when set, drives the re-checks instead of a ticker of Every
	// (tests).
	Tick <-chan time.Time
	// Check returns, of the keys given (distinct), those that no longer
	// hold, each with the cause its requests end with (Revoked, or
	// ProjectDeleted when the project is gone): what the revocation
	// missed would have given. On error nothing ends.
	Check func(ctx context.Context, keys []Key) (ended map[Key]*Ended, err error)
	// OnPass, when set, is told of each re-check that ran: how many
	// distinct keys it checked and how many requests it ended.
	OnPass func(keys, ended int)
	Log    *slog.Logger
}

// Recheck runs until ctx ends. While c.Health is down — an event published
// on another node may then never reach this one — it re-checks every
// c.Every the requests this node holds against the store (c.Check) and ends
// those that no longer hold with Revoked, the cause a revocation would
// have given. When Health is back it re-checks once at once (a node that
// crashed with an event Redis never took does not publish it again);
// while Health is up it does nothing.
func (r *Registry) Recheck(ctx context.Context, c Recheck) {
	down := false
	for {
		healthy, changed := c.Health.Watch()
		if healthy {
			if down {
				r.recheck(ctx, c)
				down = false
			}
			select {
			case <-ctx.Done():
				return
			case <-changed:
				continue
			}
		}
		down = true
		if !r.recheckWhileDown(ctx, c, changed) {
			return
		}
	}
}

// recheckWhileDown re-checks on every tick until changed is closed (true)
// or ctx ends (false).
func (r *Registry) recheckWhileDown(ctx context.Context, c Recheck, changed <-chan struct{}) bool {
	tick := c.Tick
	if tick == nil {
		t := time.NewTicker(c.Every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return false
		case <-changed:
			return true
		case <-tick:
			r.recheck(ctx, c)
		}
	}
}

// RecheckStats counts the re-checks of a registry (for /metrics).
type RecheckStats struct {
	Passes, Failed atomic.Int64 // re-checks run; of them, those whose Check failed
	Keys           atomic.Int64 // distinct keys checked, over all passes
	Revoked        atomic.Int64 // requests ended as Revoked
	Deleted        atomic.Int64 // requests ended as ProjectDeleted
}

// Rechecks returns the registry's re-check counters.
func (r *Registry) Rechecks() *RecheckStats { return &r.rechecks }

// recheck checks the distinct keys of the live requests once and ends the
// requests of those that no longer hold, each with the cause Check gave.
func (r *Registry) recheck(ctx context.Context, c Recheck) {
	keys := r.keys()
	if len(keys) == 0 {
		return
	}
	r.rechecks.Passes.Add(1)
	r.rechecks.Keys.Add(int64(len(keys)))
	ended, err := c.Check(ctx, keys)
	if err != nil {
		r.rechecks.Failed.Add(1)
		if c.Log != nil {
			c.Log.Warn("re-check live requests while revocations may be missed", "err", err)
		}
		return
	}
	n := 0
	for _, cause := range []*Ended{Revoked, ProjectDeleted} {
		m := r.end(func(k Key) bool { return ended[k] == cause }, cause)
		if cause == Revoked {
			r.rechecks.Revoked.Add(int64(m))
		} else {
			r.rechecks.Deleted.Add(int64(m))
		}
		n += m
	}
	if n > 0 && c.Log != nil {
		c.Log.Info("ended live requests no longer authorized (found by re-check)", "requests", n)
	}
	if c.OnPass != nil {
		c.OnPass(len(keys), n)
	}
}
