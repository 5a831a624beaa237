package monitor_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"ecode/internal/monitor"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func newMonitor(st *store.Store, clock *testutil.Clock, jobsErr error) *monitor.Monitor {
	return monitor.New(monitor.Options{Store: st, Now: clock.Now, Interval: time.Minute, Sources: monitor.Sources{
		Sandboxes: func() int { return 2 },
		Jobs: func(context.Context) (map[string]int64, error) {
			return map[string]int64{"available": 1, "scheduled": 2, "retryable": 3, "running": 4, "discarded": 5, "completed": 9}, jobsErr
		},
		Disk:        func() (int64, int64, error) { return 300, 1000, nil },
		SpendMeters: []string{"ai_tokens", "agent_turn"},
	}})
}

func ledger(t *testing.T, st *store.Store, key, meter string, amount int64, at time.Time) {
	t.Helper()
	if _, err := st.AppendLedger(context.Background(), []store.LedgerEntry{{ID: key, IdempotencyKey: key, AccountID: "acct",
		Meter: meter, Quantity: 1, Unit: "x", AmountMicros: amount, Day: at.Format("2006-01-02"), CreatedAt: at}}); err != nil {
		t.Fatal(err)
	}
}

func TestSampleRecordsCountersAndState(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		clock := testutil.NewClock(t0)
		m := newMonitor(st, clock, nil)

		for range 18 {
			m.ObserveRequest(200, 10*time.Millisecond, false)
		}
		m.ObserveRequest(500, 200*time.Millisecond, false)
		m.ObserveRequest(503, 300*time.Millisecond, false)
		// Streams count as requests, but their length is no latency.
		m.ObserveRequest(101, 10*time.Minute, true)
		m.ObserveRequest(200, 5*time.Minute, true)
		// One user active 5 minutes ago, one 20 minutes ago (not active).
		for i, seen := range []time.Duration{5 * time.Minute, 20 * time.Minute} {
			u, err := st.CreateUser(ctx, store.User{ID: "u" + string(rune('a'+i)), Email: string(rune('a'+i)) + "@x.test", Name: "U", CreatedAt: t0})
			if err != nil {
				t.Fatal(err)
			}
			if err := st.CreateSession(ctx, store.Session{ID: "s" + u.ID, TokenHash: "h" + u.ID, UserID: u.ID, CreatedAt: t0.Add(-time.Hour),
				LastSeenAt: t0.Add(time.Minute - seen), ExpiresAt: t0.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		ledger(t, st, "before", "ai_tokens", 7_000, t0.Add(-time.Second)) // before the window
		ledger(t, st, "tok", "ai_tokens", 1_500, t0.Add(10*time.Second))
		ledger(t, st, "turn", "agent_turn", -500, t0.Add(20*time.Second))
		ledger(t, st, "cpu", "compute_cpu", 9_999, t0.Add(30*time.Second)) // not agent spend

		clock.Advance(time.Minute)
		if err := m.Sample(ctx); err != nil {
			t.Fatal(err)
		}
		rows, err := st.MonitorSamples(ctx, t0)
		if err != nil || len(rows) != 1 {
			t.Fatalf("samples = %v, %v; want one", rows, err)
		}
		r := rows[0]
		if r.Requests != 22 || r.Errors5xx != 2 || r.Seconds != 60 || !r.At.Equal(t0.Add(time.Minute)) {
			t.Errorf("requests %d, errors %d, seconds %d, at %v; want 22, 2, 60, %v", r.Requests, r.Errors5xx, r.Seconds, r.At, t0.Add(time.Minute))
		}
		if r.P50 < 10*time.Millisecond || r.P50 > 12*time.Millisecond {
			t.Errorf("p50 = %v; want 10 ms (+20%%)", r.P50)
		}
		if r.P95 < 200*time.Millisecond || r.P95 > 240*time.Millisecond {
			t.Errorf("p95 = %v; want 200 ms (+20%%)", r.P95)
		}
		if r.SandboxesActive != 2 || r.UsersActive != 1 || r.AgentSpendMicros != 1_000 {
			t.Errorf("sandboxes %d, users %d, spend %d; want 2, 1, 1000", r.SandboxesActive, r.UsersActive, r.AgentSpendMicros)
		}
		if r.JobsQueued != 6 || r.JobsRunning != 4 || r.JobsFailed != 5 || r.DiskFreeBytes != 300 || r.DiskTotalBytes != 1000 {
			t.Errorf("jobs %d/%d/%d, disk %d/%d; want 6/4/5, 300/1000", r.JobsQueued, r.JobsRunning, r.JobsFailed, r.DiskFreeBytes, r.DiskTotalBytes)
		}

		// The next sample starts from zero.
		clock.Advance(time.Minute)
		if err := m.Sample(ctx); err != nil {
			t.Fatal(err)
		}
		rows, _ = st.MonitorSamples(ctx, t0)
		if len(rows) != 2 || rows[1].Requests != 0 || rows[1].P95 != 0 || rows[1].AgentSpendMicros != 0 {
			t.Errorf("second sample = %+v; want no requests and no spend", rows[len(rows)-1])
		}
	})
}

func TestSampleKeepsRowWhenASourceFails(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		clock := testutil.NewClock(t0)
		boom := errors.New("queue down")
		m := newMonitor(st, clock, boom)
		m.ObserveRequest(200, time.Millisecond, false)
		clock.Advance(time.Minute)
		if err := m.Sample(ctx); !errors.Is(err, boom) {
			t.Fatalf("Sample = %v; want the source's error", err)
		}
		rows, _ := st.MonitorSamples(ctx, t0)
		if len(rows) != 1 || rows[0].Requests != 1 || rows[0].DiskFreeBytes != 300 {
			t.Fatalf("rows = %+v; want the sample written with the other values", rows)
		}
	})
}

func TestSamplePrunesPastRetention(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		clock := testutil.NewClock(t0)
		m := newMonitor(st, clock, nil)
		for range 3 {
			clock.Advance(24 * time.Hour)
			if err := m.Sample(ctx); err != nil {
				t.Fatal(err)
			}
		}
		clock.Advance(6 * 24 * time.Hour) // the first is now 8 days old, the second 7, the third 6
		if err := m.Sample(ctx); err != nil {
			t.Fatal(err)
		}
		rows, _ := st.MonitorSamples(ctx, time.Time{})
		if len(rows) != 3 || !rows[0].At.Equal(t0.Add(48*time.Hour)) {
			t.Fatalf("rows after pruning = %d, first at %v; want 3 from %v", len(rows), rows[0].At, t0.Add(48*time.Hour))
		}
	})
}

func TestSeriesCombinesNodesByStep(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		clock := testutil.NewClock(t0)
		a, b := newMonitor(st, clock, nil), newMonitor(st, clock, nil)
		ledger(t, st, "tok", "ai_tokens", 2_000, t0.Add(5*time.Second))
		a.ObserveRequest(200, 10*time.Millisecond, false)
		a.ObserveRequest(500, 10*time.Millisecond, false)
		for range 3 {
			b.ObserveRequest(200, 100*time.Millisecond, false)
		}
		clock.Advance(time.Minute)
		for _, m := range []*monitor.Monitor{a, b} {
			if err := m.Sample(ctx); err != nil {
				t.Fatal(err)
			}
		}
		clock.Advance(2 * time.Minute)
		if err := a.Sample(ctx); err != nil {
			t.Fatal(err)
		}

		s, err := a.Series(ctx, "1h")
		if err != nil {
			t.Fatal(err)
		}
		if s.StepSeconds != 60 || len(s.Points) != 2 {
			t.Fatalf("step %d, %d points; want 60 s and 2 points: %+v", s.StepSeconds, len(s.Points), s.Points)
		}
		p := s.Points[0]
		if !p.At.Equal(t0.Add(time.Minute)) || p.Requests != 5 || p.Errors5xx != 1 {
			t.Errorf("point at %v: %d requests, %d errors; want %v, 5, 1", p.At, p.Requests, p.Errors5xx, t0.Add(time.Minute))
		}
		if p.SandboxesActive != 4 || p.UsersActive != 0 || p.JobsQueued != 6 || p.AgentSpendMicros != 2_000 {
			t.Errorf("sandboxes %d, users %d, queued %d, spend %d; want 4 (two nodes), 0, 6, 2000 (once)", p.SandboxesActive, p.UsersActive, p.JobsQueued, p.AgentSpendMicros)
		}
		if p.P95Ms < 100 || p.P95Ms > 120 || p.P50Ms < 40 || p.P50Ms > 80 {
			t.Errorf("p50 %.1f ms, p95 %.1f ms; want the weighted median (~64) and the higher p95 (~100)", p.P50Ms, p.P95Ms)
		}
		if s.Points[1].Requests != 0 || s.Points[1].SandboxesActive != 2 {
			t.Errorf("second point = %+v; want one node's quiet sample", s.Points[1])
		}
		if day, _ := a.Series(ctx, "7d"); day.StepSeconds != 7*24*3600/120 || len(day.Points) != 1 {
			t.Errorf("7d: step %d, %d points; want %d and one point", day.StepSeconds, len(day.Points), 7*24*3600/120)
		}
	})
}
