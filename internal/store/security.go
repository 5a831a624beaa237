package store

import (
	"context"
	"fmt"
	"time"
)

// SecurityEvent is one entry of the append-only security log: something
// that happened to an account (UserID), done by Actor (the same user, an
// admin, or nobody for failed sign-ins).
type SecurityEvent struct {
	ID        string
	UserID    string
	ActorID   string
	Kind      string
	Detail    string
	IP        string
	UserAgent string
	CreatedAt time.Time
}

const securityEventColumns = `id, user_id, actor_id, kind, detail, ip, user_agent, created_at`

// AddSecurityEvent appends an event. There is no update or delete.
func (s *Store) AddSecurityEvent(ctx context.Context, e SecurityEvent) error {
	_, err := s.exec(ctx, `INSERT INTO security_events (`+securityEventColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.UserID, e.ActorID, e.Kind, e.Detail, e.IP, e.UserAgent, micros(e.CreatedAt))
	if err != nil {
		return fmt.Errorf("add security event: %w", err)
	}
	return nil
}

// ListSecurityEvents returns the newest events first, at most limit, older
// than before when before is not zero; userID not empty keeps only the
// events of that account.
func (s *Store) ListSecurityEvents(ctx context.Context, userID string, before time.Time, limit int) ([]SecurityEvent, error) {
	q := `SELECT ` + securityEventColumns + ` FROM security_events WHERE created_at < ?`
	args := []any{micros(before)}
	if before.IsZero() {
		args[0] = int64(1) << 62
	}
	if userID != "" {
		q += ` AND user_id = ?`
		args = append(args, userID)
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list security events: %w", err)
	}
	defer rows.Close()
	var es []SecurityEvent
	for rows.Next() {
		var e SecurityEvent
		var at int64
		if err := rows.Scan(&e.ID, &e.UserID, &e.ActorID, &e.Kind, &e.Detail, &e.IP, &e.UserAgent, &at); err != nil {
			return nil, err
		}
		e.CreatedAt = fromMicros(at)
		es = append(es, e)
	}
	return es, rows.Err()
}
