package store

import (
	"context"
	"fmt"
	"time"
)

// ErrorGroup is one tracked error: every occurrence with the same
// fingerprint (its id) counts in it.
type ErrorGroup struct {
	ID            string
	Source        string // "server" or "browser"
	Kind          string
	Message       string
	Route         string
	Stack         string // of the latest occurrence
	Count         int64
	FirstSeen     time.Time
	LastSeen      time.Time
	LastRequestID string
	LastUserID    string
}

// ErrorEvent is one occurrence of a tracked error.
type ErrorEvent struct {
	ID        string
	GroupID   string
	RequestID string
	UserID    string
	Route     string
	URL       string
	UserAgent string
	Stack     string
	CreatedAt time.Time
}

// errorEventsKept is how many occurrences of each group are kept.
const errorEventsKept = 50

const errorGroupColumns = `id, source, kind, message, route, stack, count, first_seen, last_seen, last_request_id, last_user_id`

// RecordError counts e in its group g (created on first sight; its
// message, stack and last-seen fields follow the newest occurrence) and
// keeps the group's newest occurrences.
func (s *Store) RecordError(ctx context.Context, g ErrorGroup, e ErrorEvent) error {
	return s.InTx(ctx, func(tx *Store) error {
		_, err := tx.exec(ctx, `INSERT INTO error_groups (`+errorGroupColumns+`) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET count = error_groups.count + 1, message = excluded.message,
			stack = excluded.stack, last_seen = excluded.last_seen, last_request_id = excluded.last_request_id,
			last_user_id = excluded.last_user_id`,
			g.ID, g.Source, g.Kind, g.Message, g.Route, g.Stack, micros(e.CreatedAt), micros(e.CreatedAt), e.RequestID, e.UserID)
		if err != nil {
			return fmt.Errorf("record error group: %w", err)
		}
		_, err = tx.exec(ctx, `INSERT INTO error_events (id, group_id, request_id, user_id, route, url, user_agent, stack, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, g.ID, e.RequestID, e.UserID, e.Route, e.URL, e.UserAgent, e.Stack, micros(e.CreatedAt))
		if err != nil {
			return fmt.Errorf("record error event: %w", err)
		}
		_, err = tx.exec(ctx, `DELETE FROM error_events WHERE group_id = ? AND id NOT IN
			(SELECT id FROM error_events WHERE group_id = ? ORDER BY created_at DESC, id DESC LIMIT ?)`, g.ID, g.ID, errorEventsKept)
		return err
	})
}

// ListErrorGroups returns the groups seen most recently first, at most limit.
func (s *Store) ListErrorGroups(ctx context.Context, limit int) ([]ErrorGroup, error) {
	rows, err := s.query(ctx, `SELECT `+errorGroupColumns+` FROM error_groups ORDER BY last_seen DESC, id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list error groups: %w", err)
	}
	defer rows.Close()
	var gs []ErrorGroup
	for rows.Next() {
		var g ErrorGroup
		var first, last int64
		if err := rows.Scan(&g.ID, &g.Source, &g.Kind, &g.Message, &g.Route, &g.Stack, &g.Count, &first, &last,
			&g.LastRequestID, &g.LastUserID); err != nil {
			return nil, err
		}
		g.FirstSeen, g.LastSeen = fromMicros(first), fromMicros(last)
		gs = append(gs, g)
	}
	return gs, rows.Err()
}

// ErrorGroup returns one group.
func (s *Store) ErrorGroup(ctx context.Context, id string) (ErrorGroup, error) {
	var g ErrorGroup
	var first, last int64
	err := s.queryRow(ctx, `SELECT `+errorGroupColumns+` FROM error_groups WHERE id = ?`, id).Scan(&g.ID, &g.Source, &g.Kind,
		&g.Message, &g.Route, &g.Stack, &g.Count, &first, &last, &g.LastRequestID, &g.LastUserID)
	if err != nil {
		return ErrorGroup{}, mapErr(err)
	}
	g.FirstSeen, g.LastSeen = fromMicros(first), fromMicros(last)
	return g, nil
}

// ErrorEvents returns a group's kept occurrences, newest first.
func (s *Store) ErrorEvents(ctx context.Context, groupID string) ([]ErrorEvent, error) {
	rows, err := s.query(ctx, `SELECT id, group_id, request_id, user_id, route, url, user_agent, stack, created_at
		FROM error_events WHERE group_id = ? ORDER BY created_at DESC, id DESC`, groupID)
	if err != nil {
		return nil, fmt.Errorf("list error events: %w", err)
	}
	defer rows.Close()
	var es []ErrorEvent
	for rows.Next() {
		var e ErrorEvent
		var at int64
		if err := rows.Scan(&e.ID, &e.GroupID, &e.RequestID, &e.UserID, &e.Route, &e.URL, &e.UserAgent, &e.Stack, &at); err != nil {
			return nil, err
		}
		e.CreatedAt = fromMicros(at)
		es = append(es, e)
	}
	return es, rows.Err()
}

// DeleteErrorGroup forgets a group and its occurrences (an admin marks it
// dealt with; it comes back if it happens again).
func (s *Store) DeleteErrorGroup(ctx context.Context, id string) error {
	res, err := s.exec(ctx, `DELETE FROM error_groups WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete error group: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// PruneErrors deletes the occurrences recorded before cutoff, then the
// groups none is left of (those last seen before cutoff: a group being
// counted again right now keeps its row). It returns how many of each.
func (s *Store) PruneErrors(ctx context.Context, cutoff time.Time) (events, groups int64, err error) {
	err = s.InTx(ctx, func(tx *Store) error {
		res, err := tx.exec(ctx, `DELETE FROM error_events WHERE created_at < ?`, micros(cutoff))
		if err != nil {
			return fmt.Errorf("prune error events: %w", err)
		}
		events, _ = res.RowsAffected()
		res, err = tx.exec(ctx, `DELETE FROM error_groups WHERE last_seen < ?
			AND NOT EXISTS (SELECT 1 FROM error_events WHERE error_events.group_id = error_groups.id)`, micros(cutoff))
		if err != nil {
			return fmt.Errorf("prune error groups: %w", err)
		}
		groups, _ = res.RowsAffected()
		return nil
	})
	return events, groups, err
}
