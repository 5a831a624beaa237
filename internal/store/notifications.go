package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Notification is one entry of a user's notification centre.
type Notification struct {
	ID        string
	UserID    string
	Kind      string
	Title     string
	Body      string
	Link      string
	CreatedAt time.Time
	ReadAt    *time.Time
}

// notificationsKept is how many notifications each user keeps.
const notificationsKept = 200

// AddNotification stores n and drops the user's oldest past the kept number.
func (s *Store) AddNotification(ctx context.Context, n Notification) error {
	return s.InTx(ctx, func(tx *Store) error {
		_, err := tx.exec(ctx, `INSERT INTO notifications (id, user_id, kind, title, body, link, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, n.ID, n.UserID, n.Kind, n.Title, n.Body, n.Link, micros(n.CreatedAt))
		if err != nil {
			return fmt.Errorf("add notification: %w", err)
		}
		_, err = tx.exec(ctx, `DELETE FROM notifications WHERE user_id = ? AND id NOT IN
			(SELECT id FROM notifications WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?)`, n.UserID, n.UserID, notificationsKept)
		return err
	})
}

// ListNotifications returns a user's notifications, newest first, and how
// many are unread.
func (s *Store) ListNotifications(ctx context.Context, userID string, limit int) ([]Notification, int, error) {
	var unread int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM notifications WHERE user_id = ? AND read_at IS NULL`, userID).Scan(&unread); err != nil {
		return nil, 0, fmt.Errorf("count notifications: %w", err)
	}
	rows, err := s.query(ctx, `SELECT id, user_id, kind, title, body, link, created_at, read_at FROM notifications
		WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`, userID, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("list notifications: %w", err)
	}
	defer rows.Close()
	var ns []Notification
	for rows.Next() {
		var n Notification
		var at int64
		var read sql.NullInt64
		if err := rows.Scan(&n.ID, &n.UserID, &n.Kind, &n.Title, &n.Body, &n.Link, &at, &read); err != nil {
			return nil, 0, err
		}
		n.CreatedAt, n.ReadAt = fromMicros(at), fromNullMicros(read)
		ns = append(ns, n)
	}
	return ns, unread, rows.Err()
}

// MarkNotificationsRead marks a user's notifications read: the one with id,
// or all of them when id is empty.
func (s *Store) MarkNotificationsRead(ctx context.Context, userID, id string, at time.Time) error {
	q := `UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL`
	args := []any{micros(at), userID}
	if id != "" {
		q += ` AND id = ?`
		args = append(args, id)
	}
	if _, err := s.exec(ctx, q, args...); err != nil {
		return fmt.Errorf("mark notifications read: %w", err)
	}
	return nil
}

// EmailPrefs returns the kinds a user has chosen for or against email
// (kinds not in the map keep their default).
func (s *Store) EmailPrefs(ctx context.Context, userID string) (map[string]bool, error) {
	rows, err := s.query(ctx, `SELECT kind, email FROM notification_prefs WHERE user_id = ?`, userID)
	if err != nil {
		return nil, fmt.Errorf("email prefs: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var kind string
		var on int64
		if err := rows.Scan(&kind, &on); err != nil {
			return nil, err
		}
		out[kind] = on != 0
	}
	return out, rows.Err()
}

// SetEmailPref records whether notifications of kind reach the user by email.
func (s *Store) SetEmailPref(ctx context.Context, userID, kind string, email bool) error {
	on := 0
	if email {
		on = 1
	}
	_, err := s.exec(ctx, `INSERT INTO notification_prefs (user_id, kind, email) VALUES (?, ?, ?)
		ON CONFLICT (user_id, kind) DO UPDATE SET email = excluded.email`, userID, kind, on)
	if err != nil {
		return fmt.Errorf("set email pref: %w", err)
	}
	return nil
}
