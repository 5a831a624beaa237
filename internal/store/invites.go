package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Invite is a sign-up invite link. Only a hash of its token is stored.
type Invite struct {
	ID        string
	TokenHash string
	CreatedBy string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
	UsedBy    string
}

const inviteColumns = `id, token_hash, created_by, created_at, expires_at, used_at, used_by`

// CreateInvite stores an invite.
func (s *Store) CreateInvite(ctx context.Context, x Invite) error {
	_, err := s.exec(ctx, `INSERT INTO invites (`+inviteColumns+`) VALUES (?, ?, ?, ?, ?, NULL, NULL)`,
		x.ID, x.TokenHash, x.CreatedBy, micros(x.CreatedAt), micros(x.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create invite: %w", err)
	}
	return nil
}

// ListInvites returns the invites, newest first.
func (s *Store) ListInvites(ctx context.Context) ([]Invite, error) {
	rows, err := s.query(ctx, `SELECT `+inviteColumns+` FROM invites ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("list invites: %w", err)
	}
	defer rows.Close()
	var xs []Invite
	for rows.Next() {
		var x Invite
		var created, expires int64
		var used sql.NullInt64
		var usedBy sql.NullString
		if err := rows.Scan(&x.ID, &x.TokenHash, &x.CreatedBy, &created, &expires, &used, &usedBy); err != nil {
			return nil, err
		}
		x.CreatedAt, x.ExpiresAt, x.UsedAt, x.UsedBy = fromMicros(created), fromMicros(expires), fromNullMicros(used), usedBy.String
		xs = append(xs, x)
	}
	return xs, rows.Err()
}

// UseInvite marks the unused, unexpired invite with tokenHash as used by
// userID; ErrNotFound when there is no such invite.
func (s *Store) UseInvite(ctx context.Context, tokenHash, userID string, now time.Time) error {
	return affected(s.exec(ctx, `UPDATE invites SET used_at = ?, used_by = ?
		WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`, micros(now), userID, tokenHash, micros(now)))
}

// DeleteInvite revokes an invite; ErrNotFound when there is none.
func (s *Store) DeleteInvite(ctx context.Context, id string) error {
	return affected(s.exec(ctx, `DELETE FROM invites WHERE id = ?`, id))
}

// SetSetting stores a server setting, replacing any value before.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	_, err := s.exec(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("set %s: %w", key, err)
	}
	return nil
}
