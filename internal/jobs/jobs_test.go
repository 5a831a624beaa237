package jobs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"ecode/internal/jobs"
	"ecode/internal/store"
	"ecode/internal/testutil/testdb"
)

type probeArgs struct {
	Name string `json:"name"`
}

func (probeArgs) Kind() string { return "probe" }

type markerArgs struct{}

func (markerArgs) Kind() string { return "marker" }

// queue is a client with handlers that report the jobs they run.
type queue struct {
	*jobs.Client
	probes  chan probeArgs
	markers chan struct{}
	runs    atomic.Int64
}

func newQueue(t *testing.T, st *store.Store, now func() time.Time, adjust ...func(*jobs.Options)) *queue {
	t.Helper()
	ctx := context.Background()
	if err := jobs.Migrate(ctx, st); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	o := jobs.Options{Store: st, Log: log, Now: now, Poll: 50 * time.Millisecond}
	for _, fn := range adjust {
		fn(&o)
	}
	c, err := jobs.New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	q := &queue{Client: c, probes: make(chan probeArgs, 16), markers: make(chan struct{}, 16)}
	jobs.Handle(c, func(ctx context.Context, a probeArgs, attempt int) error {
		q.runs.Add(1)
		q.probes <- a
		return nil
	})
	jobs.Handle(c, func(ctx context.Context, a markerArgs, attempt int) error {
		q.markers <- struct{}{}
		return nil
	})
	return q
}

func (q *queue) run(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		q.Close()
	})
}

// drain enqueues a marker and waits until it ran: every job enqueued
// before it and due has been fetched by then (one worker order: by id).
func (q *queue) drain(t *testing.T) {
	t.Helper()
	if _, err := q.Enqueue(context.Background(), markerArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, q.markers)
}

func waitFor[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatal("timed out waiting for a job")
		panic("unreachable")
	}
}

func TestRolledBackJobNeverRuns(t *testing.T) {
	testdb.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		q := newQueue(t, st, nil)
		ctx := context.Background()
		boom := errors.New("roll back")
		err := st.InTx(ctx, func(tx *store.Store) error {
			if _, err := q.EnqueueTx(ctx, tx, probeArgs{Name: "rolled back"}, nil); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if err := st.InTx(ctx, func(tx *store.Store) error {
			_, err := q.EnqueueTx(ctx, tx, probeArgs{Name: "committed"}, nil)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		q.run(t)
		if got := waitFor(t, q.probes); got.Name != "committed" {
			t.Fatalf("ran %q", got.Name)
		}
		q.drain(t)
		if n := q.runs.Load(); n != 1 {
			t.Fatalf("%d probe jobs ran, want only the committed one", n)
		}
	})
}

func TestUniqueJobRunsOnce(t *testing.T) {
	testdb.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		q := newQueue(t, st, nil)
		ctx := context.Background()
		first, err := q.Enqueue(ctx, probeArgs{Name: "gc"}, &jobs.Opts{Unique: true})
		if err != nil || !first {
			t.Fatalf("first enqueue: %v %v", first, err)
		}
		again, err := q.Enqueue(ctx, probeArgs{Name: "gc"}, &jobs.Opts{Unique: true})
		if err != nil || again {
			t.Fatalf("second enqueue inserted=%v err=%v, want skipped", again, err)
		}
		q.run(t)
		waitFor(t, q.probes)
		q.drain(t)
		if n := q.runs.Load(); n != 1 {
			t.Fatalf("unique job ran %d times", n)
		}
	})
}

type tickArgs struct{}

func (tickArgs) Kind() string { return "tick" }

type startArgs struct{}

func (startArgs) Kind() string { return "start" }

func TestPeriodicJobsFollowTheClock(t *testing.T) {
	testdb.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		var clock atomic.Int64
		clock.Store(time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC).UnixMicro())
		now := func() time.Time { return time.UnixMicro(clock.Load()).UTC() }
		q := newQueue(t, st, now)
		ticks, started := make(chan time.Time, 8), make(chan struct{}, 1)
		jobs.Handle(q.Client, func(ctx context.Context, _ tickArgs, _ int) error { ticks <- now(); return nil })
		jobs.Handle(q.Client, func(ctx context.Context, _ startArgs, _ int) error { started <- struct{}{}; return nil })
		q.Every("hourly", time.Hour, tickArgs{}, false)
		q.Every("start", 24*time.Hour, startArgs{}, true) // runs at start: the schedule is in its loop
		q.run(t)
		waitFor(t, started)
		q.drain(t)
		if len(ticks) != 0 {
			t.Fatal("the hourly job ran before an hour passed")
		}
		for hour := 1; hour <= 2; hour++ {
			clock.Add((time.Hour + time.Second).Microseconds())
			q.Wake()
			at := waitFor(t, ticks)
			t.Logf("tick %d at %s", hour, at)
		}
		q.drain(t)
		if len(ticks) != 0 {
			t.Fatalf("%d extra ticks", len(ticks))
		}
	})
}
