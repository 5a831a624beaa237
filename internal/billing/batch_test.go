package billing_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"ecode/internal/billing"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// TestNodeMeteringInOneTransaction: a node's metering of a tick, every
// project's, is written in one transaction (counted from the store's
// spans), and leaves the same usage, ledger and rollups as recording each
// event on its own; recording the batch again changes nothing.
func TestNodeMeteringInOneTransaction(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc, _ := setup(t, st)
		if _, err := st.CreateUser(ctx, store.User{ID: "u2", Email: "u2@x.test", Name: "u2", PasswordHash: "h", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		const n = 20
		kinds := []string{"sandbox_cpu_seconds", "sandbox_gib_seconds", "bandwidth_bytes", "deploy_instance_seconds"}
		events := func(owner, prefix string) []store.UsageEvent {
			var evs []store.UsageEvent
			for i := range n {
				pid := fmt.Sprint(prefix, i)
				if _, err := st.CreateProject(ctx, store.Project{ID: pid, Name: pid, OwnerID: owner, CreatedAt: t0, UpdatedAt: t0}); err != nil {
					t.Fatal(err)
				}
				for k, kind := range kinds {
					key := fmt.Sprint(pid, ":", kind)
					evs = append(evs, store.UsageEvent{ID: key, IdempotencyKey: key, ProjectID: pid, Kind: kind,
						Quantity: float64(i*37+k*11+1) / 3, CreatedAt: t0})
				}
			}
			return evs
		}
		rec := svc.Recorder()
		single := events("u1", "a")
		sctx, singleSpans := traced(ctx)
		for _, e := range single { // one at a time, as before
			if _, err := rec.RecordUsage(sctx, e); err != nil {
				t.Fatal(err)
			}
		}
		before := count(singleSpans)
		batch := events("u2", "b")
		bctx, spans := traced(ctx)
		for round := 1; round <= 2; round++ { // the second: a redelivery
			if err := rec.RecordUsages(bctx, batch); err != nil {
				t.Fatal(err)
			}
			c := count(spans)
			if c.txs != round || c.looseWrites != 0 {
				t.Fatalf("after %d batches of %d projects: %d transactions and %d writes outside one, want %d and 0", round, n, c.txs, c.looseWrites, round)
			}
			if round == 1 {
				t.Logf("%d projects' metering: one event at a time %+v; batched %+v", n, before, c)
			}
		}
		rolls := func(account, prefix string) []store.LedgerRollup {
			rs, err := st.LedgerRollups(ctx, account, "2026-11-01", "2026-11-30")
			if err != nil {
				t.Fatal(err)
			}
			for i := range rs {
				rs[i].AccountID, rs[i].ProjectID = "", strings.TrimPrefix(rs[i].ProjectID, prefix)
			}
			return rs
		}
		one, batched := rolls("u1", "a"), rolls("u2", "b")
		if d := cmp.Diff(one, batched); d != "" || len(one) != n*len(kinds) {
			t.Fatalf("rollups of the batch differ from those of single events (-single +batch):\n%s", d)
		}
		for i := range n {
			for _, kind := range kinds {
				a, errA := st.UsageTotal(ctx, fmt.Sprint("a", i), kind)
				b, errB := st.UsageTotal(ctx, fmt.Sprint("b", i), kind)
				if errA != nil || errB != nil || a != b {
					t.Fatalf("project %d %s: usage %v (%v) one at a time, %v (%v) batched", i, kind, a, errA, b, errB)
				}
			}
		}
		if u1, u2 := balance(t, svc, "u1"), balance(t, svc, "u2"); u1 != u2 || u1 == 0 {
			t.Fatalf("used %d one at a time, %d batched", u1, u2)
		}
	})
}

func balance(t *testing.T, svc *billing.Service, account string) int64 {
	t.Helper()
	b, err := svc.Balance(context.Background(), account, "")
	if err != nil {
		t.Fatal(err)
	}
	return b.UsedMicros
}

// traced returns ctx under a recorded span, and the recorder of the
// store's spans under it.
func traced(ctx context.Context) (context.Context, *tracetest.SpanRecorder) {
	spans := tracetest.NewSpanRecorder()
	ctx, _ = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)).Tracer("test").Start(ctx, "flush")
	return ctx, spans
}

// txCount is what the store did, from its spans: each transaction, and
// each statement outside one, is a PostgreSQL transaction.
type txCount struct{ txs, looseReads, looseWrites int }

func count(spans *tracetest.SpanRecorder) txCount {
	var c txCount
	for _, sp := range spans.Ended() {
		inTx := false
		for _, a := range sp.Attributes() {
			if a.Key == "ecode.db.in_tx" {
				inTx = a.Value.AsBool()
			}
		}
		switch name := sp.Name(); {
		case name == "store TRANSACTION":
			c.txs++
		case inTx || !strings.HasPrefix(name, "store "):
		case name == "store SELECT":
			c.looseReads++
		default:
			c.looseWrites++
		}
	}
	return c
}
