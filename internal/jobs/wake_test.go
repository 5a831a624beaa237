package jobs_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"ecode/internal/jobs"
	"ecode/internal/store"
	"ecode/internal/testutil/testdb"
)

// An enqueued job runs at once although the workers' fallback poll is an
// hour away: enqueuing wakes them (in process, and after a transaction
// commits with Added). On PostgreSQL a job enqueued by another node's
// client wakes this node's workers too (LISTEN/NOTIFY).
func TestEnqueueWakesTheWorkers(t *testing.T) {
	testdb.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		hour := func(o *jobs.Options) { o.Poll = time.Hour }
		q := newQueue(t, st, nil, hour)
		q.run(t)
		ctx := context.Background()
		if _, err := q.Enqueue(ctx, probeArgs{Name: "direct"}, nil); err != nil {
			t.Fatal(err)
		}
		if got := waitFor(t, q.probes); got.Name != "direct" {
			t.Fatalf("ran %q", got.Name)
		}
		if err := st.InTx(ctx, func(tx *store.Store) error {
			_, err := q.EnqueueTx(ctx, tx, probeArgs{Name: "in a transaction"}, nil)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		q.Added()
		if got := waitFor(t, q.probes); got.Name != "in a transaction" {
			t.Fatalf("ran %q", got.Name)
		}
		if st.Engine() != store.Postgres {
			return
		}
		other := newQueue(t, st, nil, hour) // another node's client, not working jobs
		t.Cleanup(func() { other.Close() })
		if _, err := other.Enqueue(ctx, probeArgs{Name: "from another node"}, nil); err != nil {
			t.Fatal(err)
		}
		if got := waitFor(t, q.probes); got.Name != "from another node" {
			t.Fatalf("ran %q", got.Name)
		}
	})
}

type flakyArgs struct{}

func (flakyArgs) Kind() string { return "flaky" }

// A job enqueued for later and a retry run when they fall due, not at the
// fallback poll (an hour here). River's scheduler makes them available
// ahead of time (the job due in 7 s at its tick 5 s before, the retry
// after 2 s at once) without waking anyone when they are due.
func TestDueJobsWakeTheWorkers(t *testing.T) {
	testdb.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		q := newQueue(t, st, nil, func(o *jobs.Options) { o.Poll = time.Hour })
		attempts := make(chan int, 4)
		jobs.Handle(q.Client, func(ctx context.Context, _ flakyArgs, attempt int) error {
			attempts <- attempt
			if attempt == 1 {
				return errors.New("first attempt fails")
			}
			return nil
		})
		q.run(t)
		ctx := context.Background()
		if _, err := q.Enqueue(ctx, flakyArgs{}, nil); err != nil {
			t.Fatal(err)
		}
		if got := waitFor(t, attempts); got != 1 {
			t.Fatalf("attempt %d, want 1", got)
		}
		if got := waitFor(t, attempts); got != 2 { // retried after 2 s
			t.Fatalf("attempt %d, want the retry", got)
		}

		at := time.Now().Add(7 * time.Second)
		if _, err := q.Enqueue(ctx, probeArgs{Name: "later"}, &jobs.Opts{At: at}); err != nil {
			t.Fatal(err)
		}
		if got := waitFor(t, q.probes); got.Name != "later" {
			t.Fatalf("ran %q", got.Name)
		}
		if early := time.Until(at); early > 0 {
			t.Fatalf("the job due at %v ran %v early", at, early)
		}
	})
}

// fakeClock is a clock whose timers fire when it is moved past them; each
// timer armed is reported on armed.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	armed  chan time.Time
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	c.armed <- t.at
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	c.timers = slices.DeleteFunc(c.timers, func(t *fakeTimer) bool {
		if t.stopped || t.at.After(c.now) {
			return t.stopped
		}
		t.stopped = true
		due = append(due, t)
		return true
	})
	c.mu.Unlock()
	for _, t := range due {
		go t.f()
	}
}

// waitArmed waits until a timer is armed for at.
func (c *fakeClock) waitArmed(t *testing.T, at time.Time) {
	t.Helper()
	for {
		if got := waitFor(t, c.armed); got.Equal(at) {
			return
		}
	}
}

// A job enqueued for later on one node runs on another node's workers when
// it falls due on the queue's clock (a fake one, moved by the test: no real
// time passes), with their fallback poll an hour away: the other node
// learns the time from the store, at start and (PostgreSQL) when the
// enqueuing node says it enqueued a job for later.
func TestDueJobRunsOnAnotherNode(t *testing.T) {
	testdb.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		clk := &fakeClock{now: time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC), armed: make(chan time.Time, 1024)}
		a := newQueue(t, st, clk.Now, func(o *jobs.Options) { o.Poll = time.Hour }) // enqueues only
		t.Cleanup(func() { a.Close() })
		b := newQueue(t, st, clk.Now, func(o *jobs.Options) { o.Poll = time.Hour; o.AfterFunc = clk.AfterFunc })

		at := clk.Now().Add(time.Hour)
		if _, err := a.Enqueue(ctx, probeArgs{Name: "before b started"}, &jobs.Opts{At: at}); err != nil {
			t.Fatal(err)
		}
		b.run(t)
		clk.waitArmed(t, at)
		b.drain(t)
		if len(b.probes) != 0 {
			t.Fatal("the job ran before its time")
		}
		clk.Advance(time.Hour)
		if got := waitFor(t, b.probes); got.Name != "before b started" {
			t.Fatalf("ran %q", got.Name)
		}
		if st.Engine() != store.Postgres {
			return // one node on SQLite: nothing enqueues while another works
		}
		at = clk.Now().Add(time.Hour)
		if _, err := a.Enqueue(ctx, probeArgs{Name: "while b works"}, &jobs.Opts{At: at}); err != nil {
			t.Fatal(err)
		}
		clk.waitArmed(t, at)
		clk.Advance(time.Hour)
		if got := waitFor(t, b.probes); got.Name != "while b works" {
			t.Fatalf("ran %q", got.Name)
		}
	})
}
