package billing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"

	"ecode/internal/store"
)

// Recorder is what the runner (and deployments) record usage through: each
// event is kept in usage_events as before and priced into the ledger.
type Recorder struct{ s *Service }

// Recorder returns the usage recorder over the service.
func (s *Service) Recorder() Recorder { return Recorder{s} }

// RecordUsage records e in the store's usage events and, priced, in the
// ledger; both are idempotent on e.IdempotencyKey.
func (r Recorder) RecordUsage(ctx context.Context, e store.UsageEvent) (bool, error) {
	if _, err := r.s.RecordEvent(ctx, e); err != nil {
		return false, err
	}
	return r.s.st.RecordUsage(ctx, e)
}

// kindMeter maps usage event kinds to meters, with the factor turning the
// event's quantity into the meter's integer unit.
var kindMeter = map[string]struct {
	meter  string
	factor float64
}{
	"sandbox_cpu_seconds":     {MeterCPU, 1000},
	"sandbox_gib_seconds":     {MeterMemory, 1000},
	"bandwidth_bytes":         {MeterBandwidth, 1},
	"deploy_instance_seconds": {MeterDeploy, 1},
	"storage_bytes":           {MeterStorage, 1},
}

// amount prices a quantity of a (non-AI) meter.
func (pb PriceBook) amount(meter string, q int64) int64 {
	switch meter {
	case MeterCPU:
		return mulDiv(q, pb.CPUHourMicros, 3_600_000)
	case MeterMemory:
		return mulDiv(q, pb.MemoryGiBHourMicros, 3_600_000)
	case MeterBandwidth:
		return mulDiv(q, pb.BandwidthGBMicros, 1_000_000_000)
	case MeterDeploy:
		return mulDiv(q, pb.DeployHourMicros, 3600)
	case MeterStorage: // a daily sample: a thirtieth of a month
		return mulDiv(q, pb.StorageGBMonth, 30_000_000_000)
	}
	return 0
}

// RecordEvent prices one usage event into the ledger (recorded=false when
// its key was already there, or its kind is not billed).
func (s *Service) RecordEvent(ctx context.Context, e store.UsageEvent) (bool, error) {
	if _, ok := kindMeter[e.Kind]; !ok || e.IdempotencyKey == "" {
		return false, nil
	}
	account := e.UserID
	if account == "" {
		var err error
		if account, err = s.st.ProjectOwner(ctx, e.ProjectID); errors.Is(err, store.ErrNotFound) {
			return false, nil // the project is gone for good: nobody to bill
		} else if err != nil {
			return false, err
		}
	}
	pb, err := s.PriceBook(ctx)
	if err != nil {
		return false, err
	}
	le, ok := s.ledgerEntry(pb, account, e)
	if !ok {
		return false, nil
	}
	n, err := s.append(ctx, []store.LedgerEntry{le})
	return n > 0, err
}

// ledgerEntry prices a usage event of a billed kind for account (false
// when there is nothing to charge).
func (s *Service) ledgerEntry(pb PriceBook, account string, e store.UsageEvent) (store.LedgerEntry, bool) {
	km, ok := kindMeter[e.Kind]
	q := int64(math.Round(e.Quantity * km.factor)) // quantities only: money never passes through a float
	if !ok || e.IdempotencyKey == "" || q <= 0 {
		return store.LedgerEntry{}, false
	}
	at := e.CreatedAt
	if at.IsZero() {
		at = s.opts.Now()
	}
	return store.LedgerEntry{ID: newID(), IdempotencyKey: "usage:" + e.IdempotencyKey, AccountID: account,
		ProjectID: e.ProjectID, Meter: km.meter, Quantity: q, Unit: Units[km.meter], AmountMicros: pb.amount(km.meter, q),
		Day: day(at), CreatedAt: at}, true
}

// RecordUsages records a node's metering of one tick, every project's, as
// RecordUsage does each event, in one transaction (store.RecordUsageBatch):
// all of it is recorded or, on an error, none of it, and recording it
// again changes nothing.
func (r Recorder) RecordUsages(ctx context.Context, evs []store.UsageEvent) error {
	if len(evs) == 0 {
		return nil
	}
	s := r.s
	var ids []string
	seen := map[string]bool{}
	for _, e := range evs {
		if e.UserID == "" && !seen[e.ProjectID] {
			seen[e.ProjectID] = true
			ids = append(ids, e.ProjectID)
		}
	}
	owners, err := s.st.ProjectOwnersOf(ctx, ids)
	if err != nil {
		return err
	}
	pb, err := s.PriceBook(ctx)
	if err != nil {
		return err
	}
	var entries []store.LedgerEntry
	for _, e := range evs {
		account := cmp.Or(e.UserID, owners[e.ProjectID]) // none: the project is gone for good, nobody to bill
		if le, ok := s.ledgerEntry(pb, account, e); ok && account != "" {
			entries = append(entries, le)
		}
	}
	n, err := s.st.RecordUsageBatch(ctx, evs, entries, s.meterEvent())
	if err != nil || n == 0 {
		return err
	}
	s.afterAppend(ctx, entries)
	return nil
}

// TokenUsage is an agent turn's tokens by kind.
type TokenUsage struct {
	Input, Output, CacheRead, CacheWrite int64
}

// TurnCharge is a finished agent turn, to be charged.
type TurnCharge struct {
	TurnID, ProjectID, UserID, Model string
	Tokens                           TokenUsage
	Quote                            Quote
	Stop                             string // the agent's stop reason
	Steps                            int    // model calls completed
	Failed                           bool   // a platform error ended it
}

// Free reports why a turn is not charged ("" when it is): stopped by the
// loop detector, ended by a platform error, or cancelled within its first step.
func (t TurnCharge) Free() string {
	switch {
	case t.Stop == "loop_detected":
		return "stopped by the loop detector"
	case t.Failed || t.Stop == "error":
		return "ended by a platform error"
	case t.Stop == "cancelled" && t.Steps <= 1:
		return "cancelled in its first step"
	}
	return ""
}

// RecordTurn charges a finished turn: its tokens by model and kind (at the
// model's prices × the markup), then one settlement entry that
// brings the turn's total to its charge: at least the level's minimum, at
// most the quote's cap, zero for a free turn (the reversal shows in the
// ledger). It returns the charge; recording twice changes nothing.
func (s *Service) RecordTurn(ctx context.Context, t TurnCharge) (int64, error) {
	pb, err := s.PriceBook(ctx)
	if err != nil {
		return 0, err
	}
	account := t.UserID
	if account == "" {
		if account, err = s.st.ProjectOwner(ctx, t.ProjectID); err != nil {
			return 0, fmt.Errorf("turn's account: %w", err)
		}
	}
	now := s.opts.Now()
	pr := s.prices(t.Model)
	var entries []store.LedgerEntry
	var tokens int64
	for _, k := range []struct {
		kind      string
		n, priceM int64
	}{{"input", t.Tokens.Input, pr.Input}, {"output", t.Tokens.Output, pr.Output},
		{"cache_read", t.Tokens.CacheRead, pr.CacheRead}, {"cache_write", t.Tokens.CacheWrite, pr.CacheWrite}} {
		if k.n <= 0 {
			continue
		}
		amt := mulDiv(mulDiv(k.n, k.priceM, 1_000_000), pb.AIMarkupPct, 100)
		tokens += amt
		entries = append(entries, store.LedgerEntry{ID: newID(), IdempotencyKey: "turn:" + t.TurnID + ":" + k.kind,
			AccountID: account, ProjectID: t.ProjectID, Meter: MeterAI, Dimension: t.Model + "/" + k.kind, Quantity: k.n,
			Unit: Units[MeterAI], AmountMicros: amt, Day: day(now), Ref: t.TurnID, CreatedAt: now})
	}
	charge, note := tokens, "level "+t.Quote.Level
	switch why := t.Free(); {
	case why != "":
		charge, note = 0, "reversal: turn "+why
	case t.Quote.CapMicros > 0 && tokens > t.Quote.CapMicros:
		charge, note = t.Quote.CapMicros, "capped at the quote"
	case tokens < t.Quote.PriceMinMicros:
		charge, note = t.Quote.PriceMinMicros, "minimum of level "+t.Quote.Level
	}
	entries = append(entries, store.LedgerEntry{ID: newID(), IdempotencyKey: "turn:" + t.TurnID + ":settle", AccountID: account,
		ProjectID: t.ProjectID, Meter: MeterAgent, Dimension: t.Quote.Level, Quantity: 1, Unit: Units[MeterAgent],
		AmountMicros: charge - tokens, Day: day(now), Ref: t.TurnID, Note: note, CreatedAt: now})
	if _, err := s.append(ctx, entries); err != nil {
		return 0, err
	}
	return s.st.LedgerRefTotal(ctx, t.TurnID)
}
