package jobs_test

import (
	"context"
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
