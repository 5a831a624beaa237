package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Incident is a notice an admin posts on the status page.
type Incident struct {
	ID         string
	Title      string
	Body       string
	CreatedBy  string
	CreatedAt  time.Time
	ResolvedAt *time.Time
}

// AddIncident stores a new incident.
func (s *Store) AddIncident(ctx context.Context, in Incident) error {
	_, err := s.exec(ctx, `INSERT INTO incidents (id, title, body, created_by, created_at) VALUES (?, ?, ?, ?, ?)`,
		in.ID, in.Title, in.Body, in.CreatedBy, micros(in.CreatedAt))
	if err != nil {
		return fmt.Errorf("add incident: %w", err)
	}
	return nil
}

// ResolveIncident marks an open incident resolved at.
func (s *Store) ResolveIncident(ctx context.Context, id string, at time.Time) error {
	res, err := s.exec(ctx, `UPDATE incidents SET resolved_at = ? WHERE id = ? AND resolved_at IS NULL`, micros(at), id)
	if err != nil {
		return fmt.Errorf("resolve incident: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// ListIncidents returns the incidents open now or created since, newest first.
func (s *Store) ListIncidents(ctx context.Context, since time.Time, limit int) ([]Incident, error) {
	rows, err := s.query(ctx, `SELECT id, title, body, created_by, created_at, resolved_at FROM incidents
		WHERE resolved_at IS NULL OR created_at >= ? ORDER BY created_at DESC, id DESC LIMIT ?`, micros(since), limit)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	defer rows.Close()
	var out []Incident
	for rows.Next() {
		var in Incident
		var at int64
		var resolved sql.NullInt64
		if err := rows.Scan(&in.ID, &in.Title, &in.Body, &in.CreatedBy, &at, &resolved); err != nil {
			return nil, err
		}
		in.CreatedAt, in.ResolvedAt = fromMicros(at), fromNullMicros(resolved)
		out = append(out, in)
	}
	return out, rows.Err()
}
