package jobs

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Jobs that fall due later (enqueued with Opts.At, a retry after a failed
// attempt, a snooze): River's scheduler makes them available up to its
// interval ahead of time, but the workers look for available jobs only when
// woken (wake.go) or at the fallback poll, so a job due at 12:00:00 would
// wait for the next poll. So each node keeps one timer, on the queue's
// clock, to the earliest time a job waiting in the store falls due, and
// wakes the workers then (on PostgreSQL, every node's). The time is asked
// of the store at start, after this node enqueues a job for later or an
// attempt ends in a retry, when the timer fires, and, on PostgreSQL, when
// another node says it did one of those (a NOTIFY on dueTopic): every node
// knows the earliest, whichever node enqueued the job and whether or not
// it is still alive.

// dueTopic is the channel (after the schema and a dot) on which a node
// says a job was enqueued or retried for later.
const dueTopic = "ecode_jobs_due"

// dueLag bounds how long the timer waits for River's scheduler to make a
// job that fell due available (its tick is 5 s of real time), looking
// again every second: on SQLite the scheduler wakes no one when it does.
const dueLag = 10

// dueTimer is the node's timer to the next job due.
type dueTimer struct {
	c       *Client
	mu      sync.Mutex // one look-up at a time
	at      time.Time  // when the timer fires; zero: not armed
	stop    func() bool
	ended   bool
	done    chan struct{}  // closed by end
	waiters sync.WaitGroup // awaitScheduler goroutines, waited for by end
}

func newDueTimer(c *Client) *dueTimer { return &dueTimer{c: c, done: make(chan struct{})} }

// refresh asks the store when the next job falls due and arms the timer
// for then.
func (d *dueTimer) refresh(ctx context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ended {
		return
	}
	c := d.c
	now := c.now()
	params := river.NewJobListParams().
		States(rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable).
		Where("scheduled_at > @now", river.NamedArgs{"now": now}).
		OrderBy(river.JobListOrderByScheduledAt, river.SortOrderAsc).First(1)
	res, err := c.api.JobList(ctx, params)
	if err != nil {
		c.o.Log.Warn("find the next job due", "err", err) // the fallback poll finds it
		return
	}
	var next time.Time
	if len(res.Jobs) > 0 {
		next = res.Jobs[0].ScheduledAt
	}
	if next.Equal(d.at) {
		return
	}
	if d.stop != nil {
		d.stop()
		d.stop = nil
	}
	if d.at = next; !next.IsZero() {
		d.stop = c.afterFunc(next.Sub(now), d.fire)
	}
}

// fire wakes the workers and arms the timer for the next job due. A job
// that fell due and is not available yet is waited for (awaitScheduler).
func (d *dueTimer) fire() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d.mu.Lock()
	d.at, d.stop = time.Time{}, nil
	d.mu.Unlock()
	d.c.wakeWorkers()
	d.refresh(ctx)
	if !d.c.overdue(ctx) {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.ended { // end waits for it
		d.waiters.Go(d.awaitScheduler)
	}
}

// awaitScheduler looks every second, up to dueLag times, whether River's
// scheduler (on real time) made the jobs that fell due available, and
// then wakes the workers: on SQLite it wakes no one when it does.
func (d *dueTimer) awaitScheduler() {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for range dueLag {
		select {
		case <-d.done:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		overdue := d.c.overdue(ctx)
		cancel()
		if !overdue {
			d.c.wakeWorkers()
			return
		}
	}
}

// overdue reports whether a job that fell due waits for the scheduler.
func (c *Client) overdue(ctx context.Context) bool {
	params := river.NewJobListParams().States(rivertype.JobStateScheduled, rivertype.JobStateRetryable).
		Where("scheduled_at <= @now", river.NamedArgs{"now": c.now()}).First(1)
	res, err := c.api.JobList(ctx, params)
	return err == nil && len(res.Jobs) > 0
}

// end disarms the timer (the queue stops working).
func (d *dueTimer) end() {
	d.mu.Lock()
	if !d.ended {
		d.ended = true
		close(d.done)
	}
	if d.stop != nil {
		d.stop()
		d.stop = nil
	}
	d.mu.Unlock()
	d.waiters.Wait()
}

// dueChanged is told that a job was enqueued or retried for later: the
// timer is armed again and, on PostgreSQL, every other node is told.
func (c *Client) dueChanged() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.due.refresh(ctx)
	if c.local != nil {
		return
	}
	if _, err := c.o.Store.SQLDB().ExecContext(ctx, `SELECT pg_notify(current_schema() || '.' || $1, '')`, dueTopic); err != nil {
		c.o.Log.Warn("tell the other nodes of a job due later", "err", err) // they find it at their next look
	}
}

// finished notes an attempt that ended with the job due again later (a
// retry or a snooze).
func (c *Client) finished(j *rivertype.JobRow) {
	switch j.State {
	case rivertype.JobStateRetryable, rivertype.JobStateScheduled, rivertype.JobStateAvailable:
		if j.ScheduledAt.After(c.now()) {
			c.dueChanged()
		}
	}
}

// listenDue arms the timer again whenever another node enqueues or
// retries a job for later (PostgreSQL), until ctx ends.
func (c *Client) listenDue(ctx context.Context) {
	for {
		err := c.listenDueOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		c.o.Log.Warn("listen for jobs due later", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (c *Client) listenDueOnce(ctx context.Context) error {
	pc, err := c.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	conn := pc.Hijack() // it keeps listening: not for the pool
	defer conn.Close(context.WithoutCancel(ctx))
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{schema + "." + dueTopic}.Sanitize()); err != nil {
		return err
	}
	c.due.refresh(ctx) // what was said before
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		c.due.refresh(ctx)
	}
}
