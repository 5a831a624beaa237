package billing_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"ecode/internal/billing"
	"ecode/internal/jobs"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// The daily storage sample, run by the queue's periodic job on a fake
// clock: one storage entry per project per day (the idempotency key is the
// project and the day), priced a thirtieth of the GB-month, however often
// the job runs within a day.
func TestStorageSampledDailyOnAFakeClock(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		setup(t, st)
		var clock atomic.Int64
		clock.Store(t0.UnixMicro())
		now := func() time.Time { return time.UnixMicro(clock.Load()).UTC() }
		svc := billing.New(st, billing.Options{Now: now})
		const gb = 3_000_000_000
		probe := func(ctx context.Context, id string) (int64, error) { return gb, nil }
		if err := jobs.Migrate(ctx, st); err != nil {
			t.Fatal(err)
		}
		q, err := jobs.New(ctx, jobs.Options{Store: st, Now: now, Poll: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		sampled := make(chan int, 4)
		jobs.Handle(q, func(ctx context.Context, _ billing.StorageJob, _ int) error {
			n, err := svc.SampleStorage(ctx, probe)
			sampled <- n
			return err
		})
		q.Every("storage_sample", 24*time.Hour, billing.StorageJob{}, true)
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- q.Run(runCtx) }()
		t.Cleanup(func() { stop(); <-done; q.Close() })
		wait := func() int {
			select {
			case n := <-sampled:
				return n
			case <-time.After(30 * time.Second):
				t.Fatal("the storage job did not run")
				return 0
			}
		}
		if n := wait(); n != 1 {
			t.Fatalf("first day: %d samples, want 1", n)
		}
		if n, err := svc.SampleStorage(ctx, probe); err != nil || n != 0 {
			t.Fatalf("a second run the same day recorded %d (%v)", n, err)
		}
		clock.Add((24*time.Hour + time.Second).Microseconds())
		q.Wake()
		if n := wait(); n != 1 {
			t.Fatalf("second day: %d samples, want 1", n)
		}
		entries, err := st.LedgerEntries(ctx, "u1", "2026-11-01", "2026-11-30", 0)
		if err != nil || len(entries) != 2 {
			t.Fatalf("entries = %+v (%v), want one a day", entries, err)
		}
		for i, e := range entries {
			wantDay := t0.AddDate(0, 0, i).Format("2006-01-02")
			// 3 GB for a day at $0.10 a GB-month: 3 × 100000 / 30 = 10000 micros.
			if e.Meter != billing.MeterStorage || e.Day != wantDay || e.Quantity != gb || e.AmountMicros != 10_000 ||
				e.IdempotencyKey != "storage:p1:"+wantDay || e.ProjectID != "p1" {
				t.Fatalf("entry %d = %+v", i, e)
			}
		}
	})
}
