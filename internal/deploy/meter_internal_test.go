package deploy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"ecode/internal/store"
)

// flakyUsage fails its first call, then records every event.
type flakyUsage struct {
	calls int
	got   []store.UsageEvent
}

func (f *flakyUsage) RecordUsage(_ context.Context, e store.UsageEvent) (bool, error) {
	f.calls++
	if f.calls == 1 {
		return false, errors.New("database away")
	}
	f.got = append(f.got, e)
	return true, nil
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
