package jobs_test

import (
	"context"
	"errors"
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
