package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// OutboxID is the id of the outbox row of the ledger entry with
// idempotency key key: the same entry always makes the same row, and the
// row's id is the Stripe meter event's identifier and idempotency key.
func OutboxID(key string) string {
	sum := sha256.Sum256([]byte("ledger:" + key))
	return "eco_" + hex.EncodeToString(sum[:16])
}

// addOutbox writes a usage row to report, when the account has a Stripe
// customer (an account without one has nothing to be billed through Stripe).
func (s *Store) addOutbox(ctx context.Context, id, accountID, event string, value int64, at time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO billing_outbox (id, account_id, event_name, value, created_at)
		SELECT CAST(? AS TEXT), account_id, CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT) FROM billing_accounts WHERE account_id = ? AND stripe_customer <> ''
		ON CONFLICT (id) DO NOTHING`, id, event, value, micros(at), accountID)
	if err != nil {
		return fmt.Errorf("billing outbox: %w", err)
	}
	return nil
}

// OutboxRow is usage waiting to be reported to a Stripe billing meter.
type OutboxRow struct {
	ID        string
	AccountID string
	Customer  string // the account's Stripe customer
	EventName string
	Value     int64
	CreatedAt time.Time
}

// PendingOutbox lists at most limit unreported rows, oldest first.
func (s *Store) PendingOutbox(ctx context.Context, limit int) ([]OutboxRow, error) {
	rows, err := s.query(ctx, `SELECT o.id, o.account_id, a.stripe_customer, o.event_name, o.value, o.created_at
		FROM billing_outbox o JOIN billing_accounts a ON a.account_id = o.account_id
		WHERE o.reported_at IS NULL ORDER BY o.created_at, o.id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("pending outbox: %w", err)
	}
	defer rows.Close()
	var out []OutboxRow
	for rows.Next() {
		var r OutboxRow
		var at int64
		if err := rows.Scan(&r.ID, &r.AccountID, &r.Customer, &r.EventName, &r.Value, &at); err != nil {
			return nil, err
		}
		r.CreatedAt = fromMicros(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// MarkOutboxReported records that Stripe has the row.
func (s *Store) MarkOutboxReported(ctx context.Context, id string, at time.Time) error {
	_, err := s.exec(ctx, `UPDATE billing_outbox SET reported_at = ? WHERE id = ? AND reported_at IS NULL`, micros(at), id)
	if err != nil {
		return fmt.Errorf("mark outbox reported: %w", err)
	}
	return nil
}

// OutboxCounts counts the rows reported and still pending.
func (s *Store) OutboxCounts(ctx context.Context) (reported, pending int, err error) {
	err = s.queryRow(ctx, `SELECT COUNT(reported_at), COUNT(*) - COUNT(reported_at) FROM billing_outbox`).Scan(&reported, &pending)
	return reported, pending, err
}

// RecordStripeEvent records a Stripe event as applied; first=false when it
// already was (a redelivery: apply nothing). Call it in the transaction
// that applies the event.
func (s *Store) RecordStripeEvent(ctx context.Context, id, typ string, created int64, at time.Time) (first bool, err error) {
	res, err := s.exec(ctx, `INSERT INTO stripe_events (id, type, created, applied_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, id, typ, created, micros(at))
	if err != nil {
		return false, fmt.Errorf("record stripe event: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
