package deploy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"ecode/internal/store"
	"ecode/internal/testutil/testdb"
)

// flakyUsage fails its first call, then records every event.
type flakyUsage struct {
	calls int
	got   []store.UsageEvent
}

func (f *flakyUsage) RecordUsages(_ context.Context, evs []store.UsageEvent) error {
	f.calls++
	if f.calls == 1 {
		return errors.New("database away")
	}
	f.got = append(f.got, evs...)
	return nil
}

// TestUsageFlushRetry: an event that failed to record is tried again with
// the same idempotency key (a retry the ledger already has is not counted
// twice), and bytes served meanwhile go into a new event of their own.
func TestUsageFlushRetry(t *testing.T) {
	u := &flakyUsage{}
	s := New(Deps{Usage: u, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, Options{})
	s.meter.served("p1", 200, 1000)
	s.meter.served("p1", 404, 24)
	s.FlushUsage(context.Background()) // fails: kept
	if len(u.got) != 0 {
		t.Fatalf("recorded despite the failure: %+v", u.got)
	}
	s.meter.served("p1", 200, 500)
	s.FlushUsage(context.Background())
	if len(u.got) != 2 {
		t.Fatalf("want the retried event and a new one, got %+v", u.got)
	}
	first, second := u.got[0], u.got[1]
	if first.Quantity != 1024 || second.Quantity != 500 || first.Kind != UsageBandwidth || first.ProjectID != "p1" {
		t.Fatalf("events: %+v", u.got)
	}
	if first.IdempotencyKey == "" || first.IdempotencyKey == second.IdempotencyKey {
		t.Fatalf("idempotency keys: %q, %q", first.IdempotencyKey, second.IdempotencyKey)
	}
	s.FlushUsage(context.Background())
	if len(u.got) != 2 {
		t.Fatalf("an idle flush recorded %+v", u.got[2:])
	}
	if c := s.Counts("p1"); c.Requests != 3 || c.Bytes != 1524 || c.Classes["4xx"] != 1 {
		t.Fatalf("counts: %+v", c)
	}
}

// chanUsage hands every recorded event to a channel.
type chanUsage chan store.UsageEvent

func (c chanUsage) RecordUsages(_ context.Context, evs []store.UsageEvent) error {
	for _, e := range evs {
		c <- e
	}
	return nil
}

// TestUsageFlushLoopAndClose: Run's loop flushes on its own, and Close
// records what was served since the last flush.
func TestUsageFlushLoopAndClose(t *testing.T) {
	st := testdb.NewStore(t, store.SQLite) // Run lists deployments to resume; none here
	got := make(chanUsage, 16)
	s := New(Deps{Store: st, Usage: got, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, Options{UsageFlush: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { s.Run(ctx); close(ran) }()
	s.meter.served("p1", 200, 700)
	if e := <-got; e.Quantity != 700 || e.Kind != UsageBandwidth {
		t.Fatalf("loop flushed %+v", e)
	}
	cancel()
	<-ran
	s.meter.served("p1", 200, 300)
	s.Close()
	select {
	case e := <-got:
		if e.Quantity != 300 {
			t.Fatalf("close flushed %+v", e)
		}
	default:
		t.Fatal("Close recorded nothing")
	}
}

// TestStatusClass: every code maps to its class, without allocating (the
// router looks it up for every request).
func TestStatusClass(t *testing.T) {
	for code, want := range map[int]string{101: "1xx", 200: "2xx", 299: "2xx", 304: "3xx", 404: "4xx", 499: "4xx", 503: "5xx", 599: "5xx", 600: "5xx", 99: "5xx", 0: "5xx"} {
		if got := StatusClass(code); got != want {
			t.Errorf("StatusClass(%d) = %q, want %q", code, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { StatusClass(404) }); n != 0 {
		t.Errorf("StatusClass allocates %v times", n)
	}
}
