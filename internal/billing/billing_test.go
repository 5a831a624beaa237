package billing_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"ecode/internal/billing"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

var t0 = time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)

func setup(t *testing.T, st *store.Store) (*billing.Service, string) {
	t.Helper()
	ctx := context.Background()
	if _, err := st.CreateUser(ctx, store.User{ID: "u1", Email: "u1@x.test", Name: "u1", PasswordHash: "h", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateProject(ctx, store.Project{ID: "p1", Name: "one", OwnerID: "u1", CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	svc := billing.New(st, billing.Options{Now: func() time.Time { return t0 },
		Models: map[string]billing.TokenPrices{"m": {Input: 3_000_000, Output: 15_000_000, CacheRead: 300_000, CacheWrite: 3_750_000}}})
	return svc, "p1"
}

// The same event delivered 1,000 times from 10 goroutines is counted once,
// and the rollups always equal a recomputation from the raw entries.
func TestEventCountedOnceAndRollupsEqualRecomputation(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc, pid := setup(t, st)
		rec := svc.Recorder()
		ev := store.UsageEvent{ID: "e1", IdempotencyKey: "k1", ProjectID: pid, Kind: "sandbox_cpu_seconds", Quantity: 90, Unit: "cpu-second", CreatedAt: t0}
		var wg sync.WaitGroup
		for g := 0; g < 10; g++ {
			wg.Go(func() {
				for i := 0; i < 100; i++ {
					if _, err := rec.RecordUsage(ctx, ev); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		entries, err := st.LedgerEntries(ctx, "u1", "2026-11-01", "2026-11-30", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Quantity != 90_000 || entries[0].Meter != billing.MeterCPU {
			t.Fatalf("entries after 1,000 deliveries = %+v, want one of 90000 cpu-ms", entries)
		}
		// 90 CPU-seconds at 0.04 a CPU-hour is 1000 micros.
		if entries[0].AmountMicros != 1000 {
			t.Fatalf("amount = %d, want 1000", entries[0].AmountMicros)
		}
		kinds := []string{"sandbox_cpu_seconds", "sandbox_gib_seconds", "bandwidth_bytes", "deploy_instance_seconds"}
		r := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < 300; i++ {
			at := t0.Add(time.Duration(r.IntN(20*24)) * time.Hour)
			e := store.UsageEvent{ID: fmt.Sprint("r", i), IdempotencyKey: fmt.Sprint("rk", r.IntN(200)), ProjectID: pid,
				Kind: kinds[r.IntN(len(kinds))], Quantity: float64(r.IntN(1e6)) / 7, CreatedAt: at}
			if _, err := rec.RecordUsage(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		rolls, err := st.LedgerRollups(ctx, "u1", "2026-11-01", "2026-12-31")
		if err != nil {
			t.Fatal(err)
		}
		raw, err := st.LedgerRecompute(ctx, "u1", "2026-11-01", "2026-12-31")
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(raw, rolls); d != "" || len(rolls) == 0 {
			t.Fatalf("rollups differ from the recomputation (-raw +rollups):\n%s", d)
		}
		u, err := svc.Usage(ctx, "u1", "2026-11")
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, e := range mustEntries(t, st, "2026-11-01", "2026-11-30") {
			sum += e.AmountMicros
		}
		if u.TotalMicros != sum || u.TotalMicros == 0 {
			t.Fatalf("usage total %d, ledger sum %d", u.TotalMicros, sum)
		}
	})
}

func mustEntries(t *testing.T, st *store.Store, from, to string) []store.LedgerEntry {
	t.Helper()
	es, err := st.LedgerEntries(context.Background(), "u1", from, to, 0)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestQuoteMultipliersFromThePriceBook(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc, _ := setup(t, st)
		pb := billing.DefaultPriceBook()
		pb.AgentBaseMicros, pb.CapFactor = 100_000, 3
		if err := svc.SetPriceBook(ctx, pb); err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{"simple": 100_000, "moderate": 250_000, "complex": 500_000, "very_complex": 1_000_000, "expert": 2_000_000}
		for level, min := range want {
			q, err := svc.Quote(ctx, billing.QuoteRequest{Prompt: "anything", Level: level})
			if err != nil {
				t.Fatal(err)
			}
			if q.Level != level || q.PriceMinMicros != min || q.CapMicros != 3*min || q.PriceMaxMicros != q.CapMicros || q.Source != "override" {
				t.Errorf("quote %s = %+v, want min %d cap %d", level, q, min, 3*min)
			}
		}
		pb.MultipliersMilli["expert"] = 0
		var inv *billing.InvalidError
		if err := svc.SetPriceBook(ctx, pb); !errors.As(err, &inv) {
			t.Fatalf("a zero multiplier was accepted: %v", err)
		}
	})
}

func TestHeuristicLevels(t *testing.T) {
	for prompt, want := range map[string]string{
		"fix the typo in the header":                              "simple",
		"add a contact form page":                                 "moderate",
		"add login with a database of users":                      "complex",
		"refactor the app to use websockets for realtime updates": "very_complex",
		"build a full marketplace platform from scratch":          "expert",
	} {
		if got, _ := billing.Heuristic(billing.QuoteRequest{Prompt: prompt}); got != want {
			t.Errorf("Heuristic(%q) = %s, want %s", prompt, got, want)
		}
	}
	if got, _ := billing.Heuristic(billing.QuoteRequest{Prompt: "fix the typo", HighPower: true}); got != "moderate" {
		t.Errorf("high power does not raise the level: %s", got)
	}
}

// A turn is charged at least its level's minimum, at most its cap, and
// nothing (with a visible reversal) when the loop detector stopped it.
func TestTurnCharges(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc, pid := setup(t, st)
		q, err := svc.Quote(ctx, billing.QuoteRequest{Prompt: "x", Level: "moderate"}) // min 625000, cap 2500000
		if err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name string
			c    billing.TurnCharge
			want int64
		}{
			{"small turn pays the minimum", billing.TurnCharge{Tokens: billing.TokenUsage{Input: 1000, Output: 100}, Stop: "end_turn", Steps: 2}, q.PriceMinMicros},
			{"tokens between", billing.TurnCharge{Tokens: billing.TokenUsage{Input: 100_000, Output: 50_000}, Stop: "end_turn", Steps: 5}, 1_050_000},
			{"over the cap is capped", billing.TurnCharge{Tokens: billing.TokenUsage{Output: 1_000_000}, Stop: "cap_cost", Steps: 9}, q.CapMicros},
			{"loop detector is free", billing.TurnCharge{Tokens: billing.TokenUsage{Output: 100_000}, Stop: "loop_detected", Steps: 6}, 0},
			{"platform error is free", billing.TurnCharge{Tokens: billing.TokenUsage{Output: 10_000}, Failed: true}, 0},
			{"cancelled in the first step is free", billing.TurnCharge{Tokens: billing.TokenUsage{Input: 5000}, Stop: "cancelled", Steps: 1}, 0},
			{"cancelled later pays", billing.TurnCharge{Tokens: billing.TokenUsage{Input: 5000}, Stop: "cancelled", Steps: 3}, q.PriceMinMicros},
		}
		for i, c := range cases {
			c.c.TurnID, c.c.ProjectID, c.c.UserID, c.c.Model, c.c.Quote = fmt.Sprint("t", i), pid, "u1", "m", q
			for range 2 { // charged once however often recorded
				got, err := svc.RecordTurn(ctx, c.c)
				if err != nil || got != c.want {
					t.Errorf("%s: charge %d (%v), want %d", c.name, got, err, c.want)
				}
			}
		}
		var reversal bool
		for _, e := range mustEntries(t, st, "2026-11-01", "2026-11-30") {
			if e.Ref == "t3" && e.Meter == billing.MeterAgent && e.AmountMicros == -1_500_000 && e.Note != "" {
				reversal = true
			}
		}
		if !reversal {
			t.Error("the loop-detected turn has no reversal entry in the ledger")
		}
	})
}

func TestQuotas(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc, pid := setup(t, st)
		if err := svc.PutPlan(ctx, billing.Plan{ID: "tiny", Name: "Tiny", IncludedMicros: 1_000_000, MaxProjects: 1}); err != nil {
			t.Fatal(err)
		}
		if err := svc.AssignPlan(ctx, "u1", "tiny"); err != nil {
			t.Fatal(err)
		}
		var qe *billing.QuotaError
		if err := svc.Allow(ctx, "u1", billing.WorkProject); !errors.As(err, &qe) || qe.Code != "quota_projects" {
			t.Fatalf("a second project was allowed: %v", err)
		}
		if err := svc.Allow(ctx, "u1", billing.WorkAgent); err != nil {
			t.Fatalf("agent refused with credits left: %v", err)
		}
		q, _ := svc.Quote(ctx, billing.QuoteRequest{Prompt: "x", Level: "simple"})
		if _, err := svc.RecordTurn(ctx, billing.TurnCharge{TurnID: "a", ProjectID: pid, UserID: "u1", Model: "m", Quote: q,
			Tokens: billing.TokenUsage{Output: 55_000}, Stop: "end_turn", Steps: 3}); err != nil { // 825000: 82.5%
			t.Fatal(err)
		}
		b, err := svc.Balance(ctx, "u1", "")
		if err != nil || !b.Warning || b.LeftMicros != 175_000 {
			t.Fatalf("balance at 82.5%% = %+v (%v), want the warning and 175000 left", b, err)
		}
		if _, err := svc.RecordTurn(ctx, billing.TurnCharge{TurnID: "b", ProjectID: pid, UserID: "u1", Model: "m", Quote: q,
			Stop: "end_turn", Steps: 1}); err != nil {
			t.Fatal(err)
		}
		for _, what := range []string{billing.WorkAgent, billing.WorkRun, billing.WorkExec, billing.WorkDeploy} {
			if err := svc.Allow(ctx, "u1", what); !errors.As(err, &qe) || qe.Code != "quota_credits" || qe.Link == "" {
				t.Fatalf("%s allowed with no credits left: %v", what, err)
			}
		}
		if err := svc.Grant(ctx, "u1", 5_000_000, "support", "admin", "once"); err != nil {
			t.Fatal(err)
		}
		if err := svc.Grant(ctx, "u1", 5_000_000, "support", "admin", "once"); err != nil { // same key: once
			t.Fatal(err)
		}
		b, _ = svc.Balance(ctx, "u1", "")
		if b.LeftMicros != 1_000_000+5_000_000-1_075_000 {
			t.Fatalf("left after a grant = %d", b.LeftMicros)
		}
		if err := svc.Allow(ctx, "u1", billing.WorkAgent); err != nil {
			t.Fatalf("agent refused after a grant: %v", err)
		}
	})
}
