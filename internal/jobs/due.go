package jobs

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Jobs that fall due later (enqueued with Opts.At, a retry after a failed
// attempt, a snooze): River's scheduler makes them available up to its
// interval ahead of time, but the workers look for available jobs only when
// woken (wake.go) or at the fallback poll, so a job due at 12:00:00 would
// wait for the next poll. The queue keeps the times it knows jobs fall due
// at (its own inserts, the attempts its workers finished, and at start the
// earliest one waiting) and wakes the workers at each; on PostgreSQL that
// wakes every node's.

// maxDue bounds the due times kept; past it the latest are dropped (their
// jobs run at the fallback poll, or when an earlier wake finds them).
const maxDue = 1024

// dueTimes is a timer to the earliest of a sorted set of times.
type dueTimes struct {
	mu    sync.Mutex
	times []time.Time // sorted, earliest first
	timer *time.Timer
	now   func() time.Time
	wake  func()
}

// add keeps t and re-arms the timer when t is the earliest.
func (d *dueTimes) add(t time.Time) {
	if t.IsZero() {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	i, found := slices.BinarySearchFunc(d.times, t, time.Time.Compare)
	if found || i >= maxDue {
		return
	}
	d.times = slices.Insert(d.times, i, t)
	if len(d.times) > maxDue {
		d.times = d.times[:maxDue]
	}
	if i == 0 {
		d.armLocked()
	}
}

func (d *dueTimes) armLocked() {
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	if len(d.times) > 0 {
		d.timer = time.AfterFunc(max(d.times[0].Sub(d.now()), 0), d.fire)
	}
}

// fire wakes the workers for every time now past and arms the timer for
// the next.
func (d *dueTimes) fire() {
	d.mu.Lock()
	now := d.now()
	n := 0
	for n < len(d.times) && !d.times[n].After(now) {
		n++
	}
	d.times = d.times[n:]
	d.armLocked()
	d.mu.Unlock()
	if n > 0 {
		d.wake()
	}
}

// stop cancels the timer (the queue stops working).
func (d *dueTimes) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.times = nil
}

// finished notes when a job whose attempt just ended falls due again (a
// retry or a snooze: scheduled later, or already available but due later).
func (d *dueTimes) finished(j *rivertype.JobRow) {
	switch j.State {
	case rivertype.JobStateRetryable, rivertype.JobStateScheduled, rivertype.JobStateAvailable:
		d.add(j.ScheduledAt)
	}
}

// noteEarliest notes when the earliest job waiting for its time (what was enqueued
// or retried before this process started, or by another node) falls due.
func (c *Client) noteEarliest(ctx context.Context) {
	params := river.NewJobListParams().States(rivertype.JobStateScheduled, rivertype.JobStateRetryable).
		OrderBy(river.JobListOrderByScheduledAt, river.SortOrderAsc).First(1)
	res, err := c.api.JobList(ctx, params)
	if err != nil {
		c.o.Log.Warn("find the next job due", "err", err)
		return
	}
	for _, j := range res.Jobs {
		c.due.add(j.ScheduledAt)
	}
}
