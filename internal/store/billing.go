package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"
)

// LedgerEntry is one priced usage event of the billing ledger. Quantity is
// in the meter's integer unit, AmountMicros in millionths of the currency
// unit; the idempotency key makes a redelivered event count once.
type LedgerEntry struct {
	ID             string
	IdempotencyKey string
	AccountID      string
	ProjectID      string
	Meter          string
	Dimension      string // e.g. "claude-sonnet-5-5/output" for AI tokens
	Quantity       int64
	Unit           string
	AmountMicros   int64
	Day            string // YYYY-MM-DD (UTC)
	Ref            string // what the entry belongs to (an agent turn's id, ...)
	Note           string
	CreatedAt      time.Time
}

// LedgerRollup sums the entries of one account, project, meter and day.
type LedgerRollup struct {
	AccountID    string
	ProjectID    string
	Meter        string
	Day          string
	Quantity     int64
	AmountMicros int64
	Events       int64
}

// AppendLedger appends entries in one transaction and adds each new one to
// its rollup. Entries whose idempotency key is already in the ledger are
// skipped; recorded counts the new ones.
func (s *Store) AppendLedger(ctx context.Context, entries []LedgerEntry) (recorded int, err error) {
	return s.AppendLedgerReported(ctx, entries, "")
}

// AppendLedgerReported is AppendLedger that also, when meterEvent is not
// empty, writes in the same transaction one billing_outbox row per account
// with a Stripe customer whose new entries add up to a positive amount: the
// usage to report to Stripe's meter meterEvent (see PendingOutbox).
func (s *Store) AppendLedgerReported(ctx context.Context, entries []LedgerEntry, meterEvent string) (recorded int, err error) {
	err = s.InTx(ctx, func(tx *Store) error {
		recorded = 0
		type net struct {
			key    string
			amount int64
			at     time.Time
		}
		nets := map[string]*net{}
		var order []string
		for _, e := range entries {
			res, err := tx.exec(ctx, `INSERT INTO ledger_entries (id, idempotency_key, account_id, project_id, meter, dimension,
				quantity, unit, amount_micros, day, ref, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (idempotency_key) DO NOTHING`,
				e.ID, e.IdempotencyKey, e.AccountID, e.ProjectID, e.Meter, e.Dimension, e.Quantity, e.Unit,
				e.AmountMicros, e.Day, e.Ref, e.Note, micros(e.CreatedAt))
			if err != nil {
				return fmt.Errorf("append ledger: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			recorded++
			if nets[e.AccountID] == nil {
				nets[e.AccountID] = &net{key: e.IdempotencyKey, at: e.CreatedAt}
				order = append(order, e.AccountID)
			}
			nets[e.AccountID].amount += e.AmountMicros
			if _, err := tx.exec(ctx, `INSERT INTO ledger_rollups (account_id, project_id, meter, day, quantity, amount_micros, events)
				VALUES (?, ?, ?, ?, ?, ?, 1) ON CONFLICT (account_id, day, meter, project_id) DO UPDATE SET
				quantity = ledger_rollups.quantity + excluded.quantity,
				amount_micros = ledger_rollups.amount_micros + excluded.amount_micros,
				events = ledger_rollups.events + 1`,
				e.AccountID, e.ProjectID, e.Meter, e.Day, e.Quantity, e.AmountMicros); err != nil {
				return fmt.Errorf("ledger rollup: %w", err)
			}
		}
		if meterEvent == "" {
			return nil
		}
		for _, acct := range order {
			if n := nets[acct]; n.amount > 0 {
				if err := tx.addOutbox(ctx, OutboxID(n.key), acct, meterEvent, n.amount, n.at); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return recorded, err
}

// LedgerRollups returns the rollups of days [fromDay, toDay] of one account
// ("" for every account), by day.
func (s *Store) LedgerRollups(ctx context.Context, accountID, fromDay, toDay string) ([]LedgerRollup, error) {
	rows, err := s.query(ctx, `SELECT account_id, project_id, meter, day, quantity, amount_micros, events FROM ledger_rollups
		WHERE (account_id = ? OR ? = '') AND day >= ? AND day <= ? ORDER BY day, account_id, meter, project_id`,
		accountID, accountID, fromDay, toDay)
	if err != nil {
		return nil, fmt.Errorf("ledger rollups: %w", err)
	}
	defer rows.Close()
	var out []LedgerRollup
	for rows.Next() {
		var r LedgerRollup
		if err := rows.Scan(&r.AccountID, &r.ProjectID, &r.Meter, &r.Day, &r.Quantity, &r.AmountMicros, &r.Events); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// LedgerRecompute sums the raw entries the way the rollups do (a check of
// the rollups, and the statement's proof).
func (s *Store) LedgerRecompute(ctx context.Context, accountID, fromDay, toDay string) ([]LedgerRollup, error) {
	rows, err := s.query(ctx, `SELECT account_id, project_id, meter, day, SUM(quantity), SUM(amount_micros), COUNT(*) FROM ledger_entries
		WHERE (account_id = ? OR ? = '') AND day >= ? AND day <= ? GROUP BY account_id, project_id, meter, day
		ORDER BY day, account_id, meter, project_id`, accountID, accountID, fromDay, toDay)
	if err != nil {
		return nil, fmt.Errorf("ledger recompute: %w", err)
	}
	defer rows.Close()
	var out []LedgerRollup
	for rows.Next() {
		var r LedgerRollup
		if err := rows.Scan(&r.AccountID, &r.ProjectID, &r.Meter, &r.Day, &r.Quantity, &r.AmountMicros, &r.Events); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// LedgerEntries lists an account's entries of days [fromDay, toDay] in
// order (statements), at most limit (0: all).
func (s *Store) LedgerEntries(ctx context.Context, accountID, fromDay, toDay string, limit int) ([]LedgerEntry, error) {
	if limit <= 0 {
		limit = 1 << 30
	}
	rows, err := s.query(ctx, `SELECT id, idempotency_key, account_id, project_id, meter, dimension, quantity, unit, amount_micros,
		day, ref, note, created_at FROM ledger_entries WHERE account_id = ? AND day >= ? AND day <= ?
		ORDER BY created_at, id LIMIT ?`, accountID, fromDay, toDay, limit)
	if err != nil {
		return nil, fmt.Errorf("ledger entries: %w", err)
	}
	defer rows.Close()
	var out []LedgerEntry
	for rows.Next() {
		var e LedgerEntry
		var at int64
		if err := rows.Scan(&e.ID, &e.IdempotencyKey, &e.AccountID, &e.ProjectID, &e.Meter, &e.Dimension, &e.Quantity,
			&e.Unit, &e.AmountMicros, &e.Day, &e.Ref, &e.Note, &at); err != nil {
			return nil, err
		}
		e.CreatedAt = fromMicros(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// LedgerRefTotal sums the amounts of the entries with ref (an agent turn's charge).
func (s *Store) LedgerRefTotal(ctx context.Context, ref string) (int64, error) {
	var total int64
	err := s.queryRow(ctx, `SELECT COALESCE(SUM(amount_micros), 0) FROM ledger_entries WHERE ref = ?`, ref).Scan(&total)
	return total, err
}

// LedgerMonthTotals sums an account's amounts by month (YYYY-MM), optionally of one meter.
func (s *Store) LedgerMonthTotals(ctx context.Context, accountID, meter string) (map[string]int64, error) {
	rows, err := s.query(ctx, `SELECT substr(day, 1, 7), SUM(amount_micros) FROM ledger_rollups
		WHERE account_id = ? AND (meter = ? OR ? = '') GROUP BY substr(day, 1, 7)`, accountID, meter, meter)
	if err != nil {
		return nil, fmt.Errorf("ledger month totals: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var m string
		var v int64
		if err := rows.Scan(&m, &v); err != nil {
			return nil, err
		}
		out[m] = v
	}
	return out, rows.Err()
}

// Credit is money added to an account (a grant, a purchase); negative to take back.
type Credit struct {
	ID             string
	IdempotencyKey string
	AccountID      string
	AmountMicros   int64
	Reason         string
	Actor          string
	CreatedAt      time.Time
}

// AddCredit records a credit once per idempotency key (added=false when it was already).
func (s *Store) AddCredit(ctx context.Context, c Credit) (added bool, err error) {
	res, err := s.exec(ctx, `INSERT INTO billing_credits (id, idempotency_key, account_id, amount_micros, reason, actor, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING`,
		c.ID, c.IdempotencyKey, c.AccountID, c.AmountMicros, c.Reason, c.Actor, micros(c.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("add credit: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// CreditTotal sums an account's credits.
func (s *Store) CreditTotal(ctx context.Context, accountID string) (int64, error) {
	var total int64
	err := s.queryRow(ctx, `SELECT COALESCE(SUM(amount_micros), 0) FROM billing_credits WHERE account_id = ?`, accountID).Scan(&total)
	return total, err
}

// BillingAccount is an account's plan and Stripe customer.
type BillingAccount struct {
	AccountID      string
	Plan           string // "" when never set: the default plan
	StripeCustomer string
	PlanEventAt    int64 // when the Stripe event that set the plan was created (orders events)
	UpdatedAt      time.Time
}

// BillingAccount returns the account's row; a missing one is the zero value.
func (s *Store) BillingAccount(ctx context.Context, accountID string) (BillingAccount, error) {
	a := BillingAccount{AccountID: accountID}
	var at int64
	err := s.queryRow(ctx, `SELECT plan, stripe_customer, plan_event_at, updated_at FROM billing_accounts WHERE account_id = ?`,
		accountID).Scan(&a.Plan, &a.StripeCustomer, &a.PlanEventAt, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return a, nil
	}
	a.UpdatedAt = fromMicros(at)
	return a, err
}

// SetBillingPlan sets the account's plan. With eventAt > 0 (a Stripe
// event's creation time) it applies only when no later event set it, so
// events applied out of order end in the state of the newest.
func (s *Store) SetBillingPlan(ctx context.Context, accountID, plan string, eventAt int64, at time.Time) (applied bool, err error) {
	res, err := s.exec(ctx, `INSERT INTO billing_accounts (account_id, plan, plan_event_at, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET plan = excluded.plan, plan_event_at = excluded.plan_event_at,
		updated_at = excluded.updated_at WHERE excluded.plan_event_at = 0 OR billing_accounts.plan_event_at <= excluded.plan_event_at`,
		accountID, plan, eventAt, micros(at))
	if err != nil {
		return false, fmt.Errorf("set plan: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// SetStripeCustomer records the account's Stripe customer.
func (s *Store) SetStripeCustomer(ctx context.Context, accountID, customer, defaultPlan string, at time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO billing_accounts (account_id, plan, stripe_customer, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET stripe_customer = excluded.stripe_customer, updated_at = excluded.updated_at`,
		accountID, defaultPlan, customer, micros(at))
	return err
}

// AccountByStripeCustomer finds the account of a Stripe customer.
func (s *Store) AccountByStripeCustomer(ctx context.Context, customer string) (string, error) {
	var id string
	err := s.queryRow(ctx, `SELECT account_id FROM billing_accounts WHERE stripe_customer = ? AND stripe_customer <> ''`, customer).Scan(&id)
	return id, mapErr(err)
}

// ProjectOwner returns a project's owner (deleted projects included: usage
// recorded while one was deleted is still its owner's).
func (s *Store) ProjectOwner(ctx context.Context, projectID string) (string, error) {
	var id string
	err := s.queryRow(ctx, `SELECT owner_id FROM projects WHERE id = ?`, projectID).Scan(&id)
	return id, mapErr(err)
}

// CountOwnedProjects counts the projects an account owns.
func (s *Store) CountOwnedProjects(ctx context.Context, accountID string) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM projects WHERE owner_id = ? AND deleting_at IS NULL`, accountID).Scan(&n)
	return n, err
}

// ProjectOwners lists every live project with its owner (project id →
// owner id): what the daily storage sample measures.
func (s *Store) ProjectOwners(ctx context.Context) (map[string]string, error) {
	out, err := s.owners(ctx, `SELECT id, owner_id FROM projects WHERE deleting_at IS NULL`)
	if err != nil {
		return nil, fmt.Errorf("project owners: %w", err)
	}
	return out, nil
}

// ownersChunk is how many project ids one statement of ProjectOwnersOf
// binds: PostgreSQL allows at most 65535 bind parameters a statement and
// SQLite 32766 by default.
const ownersChunk = 500

// ProjectOwnersOf returns the owners of the projects ids that exist (also
// those being deleted), by project id, in one query per ownersChunk ids.
func (s *Store) ProjectOwnersOf(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for start := 0; start < len(ids); start += ownersChunk {
		chunk := ids[start:min(start+ownersChunk, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		some, err := s.owners(ctx, `SELECT id, owner_id FROM projects WHERE id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("owners of projects: %w", err)
		}
		maps.Copy(out, some)
	}
	return out, nil
}

// owners runs a query of (project id, owner id) rows into a map.
func (s *Store) owners(ctx context.Context, query string, args ...any) (map[string]string, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, owner string
		if err := rows.Scan(&id, &owner); err != nil {
			return nil, err
		}
		out[id] = owner
	}
	return out, rows.Err()
}

// CountOwnedDeployments counts the deployments of an account's projects,
// leaving out the project except (a republish is not a new deployment).
func (s *Store) CountOwnedDeployments(ctx context.Context, accountID, except string) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM deployments d JOIN projects p ON p.id = d.project_id
		WHERE p.owner_id = ? AND p.deleting_at IS NULL AND d.project_id <> ?`, accountID, except).Scan(&n)
	return n, err
}

// OwnedDeployments returns the ids of an account's projects that have a
// deployment (their active releases are stopped when its credits run out).
func (s *Store) OwnedDeployments(ctx context.Context, accountID string) ([]string, error) {
	rows, err := s.query(ctx, `SELECT d.project_id FROM deployments d JOIN projects p ON p.id = d.project_id
		WHERE p.owner_id = ? AND p.deleting_at IS NULL AND d.active_release_id IS NOT NULL ORDER BY d.project_id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("owned deployments: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
