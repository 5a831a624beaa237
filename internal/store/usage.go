package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// UsageEvent is one metered quantity (CPU seconds, sandbox seconds × size, ...).
type UsageEvent struct {
	ID             string
	IdempotencyKey string
	ProjectID      string
	UserID         string
	Kind           string
	Quantity       float64
	Unit           string
	CreatedAt      time.Time
}

// RecordUsage appends an event; an event whose idempotency key was already
// recorded is ignored (recorded=false).
func (s *Store) RecordUsage(ctx context.Context, e UsageEvent) (recorded bool, err error) {
	_, err = s.exec(ctx, `INSERT INTO usage_events (id, idempotency_key, project_id, user_id, kind, quantity, unit, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.IdempotencyKey, e.ProjectID, e.UserID, e.Kind, e.Quantity, e.Unit, micros(e.CreatedAt))
	if errors.Is(err, ErrConflict) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record usage: %w", err)
	}
	return true, nil
}

// UsageTotal sums a project's usage of one kind.
func (s *Store) UsageTotal(ctx context.Context, projectID, kind string) (float64, error) {
	var total float64
	err := s.queryRow(ctx, `SELECT COALESCE(SUM(quantity), 0) FROM usage_events WHERE project_id = ? AND kind = ?`,
		projectID, kind).Scan(&total)
	return total, err
}

// Setting returns a server setting.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.queryRow(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if err != nil {
		return "", fmt.Errorf("setting %s: %w", key, mapErr(err))
	}
	return v, nil
}

// SettingOrInit returns a setting, storing init's value first if it has
// none. Concurrent callers (even on several nodes) all get the same value.
func (s *Store) SettingOrInit(ctx context.Context, key string, init func() string) (string, error) {
	if v, err := s.Setting(ctx, key); err == nil || !errors.Is(err, ErrNotFound) {
		return v, err
	}
	_, err := s.exec(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, init())
	if err != nil {
		return "", fmt.Errorf("init setting %s: %w", key, err)
	}
	return s.Setting(ctx, key)
}

// RecordUsageBatch records usage events and their priced ledger entries
// (AppendLedgerReported, with its rollups and outbox rows) in one
// transaction: a node's metering of a whole tick, whatever the number of
// projects. Events and entries whose idempotency key is already recorded
// are skipped; recorded counts the new ledger entries. Nothing is written
// when it fails.
func (s *Store) RecordUsageBatch(ctx context.Context, events []UsageEvent, ledger []LedgerEntry, meterEvent string) (recorded int, err error) {
	err = s.InTx(ctx, func(tx *Store) error {
		for _, e := range events {
			if _, err := tx.exec(ctx, `INSERT INTO usage_events (id, idempotency_key, project_id, user_id, kind, quantity, unit, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
				e.ID, e.IdempotencyKey, e.ProjectID, e.UserID, e.Kind, e.Quantity, e.Unit, micros(e.CreatedAt)); err != nil {
				return fmt.Errorf("record usage: %w", err)
			}
		}
		var err error
		recorded, err = tx.AppendLedgerReported(ctx, ledger, meterEvent)
		return err
	})
	return recorded, err
}
