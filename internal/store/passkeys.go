package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Passkey is a WebAuthn credential of a user. Credential is the WebAuthn
// library's credential record as JSON (public key, sign count, AAGUID,
// transports, flags); ID is the credential id (base64url).
type Passkey struct {
	ID         string
	UserID     string
	Name       string
	Credential string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

const passkeyColumns = `id, user_id, name, credential, created_at, last_used_at`

func scanPasskey(sc interface{ Scan(...any) error }) (Passkey, error) {
	var p Passkey
	var c int64
	var l sql.NullInt64
	err := sc.Scan(&p.ID, &p.UserID, &p.Name, &p.Credential, &c, &l)
	p.CreatedAt, p.LastUsedAt = fromMicros(c), fromNullMicros(l)
	return p, mapErr(err)
}

// AddPasskey stores a credential; a credential id already stored gives
// ErrConflict.
func (s *Store) AddPasskey(ctx context.Context, p Passkey) error {
	_, err := s.exec(ctx, `INSERT INTO passkeys (id, user_id, name, credential, created_at) VALUES (?, ?, ?, ?, ?)`,
		p.ID, p.UserID, p.Name, p.Credential, micros(p.CreatedAt))
	if err != nil {
		return fmt.Errorf("add passkey: %w", err)
	}
	return nil
}

// Passkeys returns a user's passkeys, oldest first.
func (s *Store) Passkeys(ctx context.Context, userID string) ([]Passkey, error) {
	rows, err := s.query(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	defer rows.Close()
	var ps []Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, rows.Err()
}

// PasskeyByID returns the passkey with a credential id.
func (s *Store) PasskeyByID(ctx context.Context, id string) (Passkey, error) {
	p, err := scanPasskey(s.queryRow(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE id = ?`, id))
	if err != nil {
		return Passkey{}, fmt.Errorf("passkey: %w", err)
	}
	return p, nil
}

// UsePasskey stores a credential's updated record after a sign-in.
func (s *Store) UsePasskey(ctx context.Context, id, credential string, at time.Time) error {
	return affected(s.exec(ctx, `UPDATE passkeys SET credential = ?, last_used_at = ? WHERE id = ?`, credential, micros(at), id))
}

// DeletePasskey deletes one of a user's passkeys.
func (s *Store) DeletePasskey(ctx context.Context, userID, id string) error {
	return affected(s.exec(ctx, `DELETE FROM passkeys WHERE id = ? AND user_id = ?`, id, userID))
}

// Ceremony is a WebAuthn ceremony in flight: the challenge state (JSON)
// kept between its two requests.
type Ceremony struct {
	ID        string
	UserID    string // empty for a password-less sign-in
	Kind      string
	Data      string
	ExpiresAt time.Time
}

// AddCeremony stores a ceremony and drops expired ones.
func (s *Store) AddCeremony(ctx context.Context, c Ceremony, now time.Time) error {
	if _, err := s.exec(ctx, `DELETE FROM webauthn_ceremonies WHERE expires_at <= ?`, micros(now)); err != nil {
		return err
	}
	_, err := s.exec(ctx, `INSERT INTO webauthn_ceremonies (id, user_id, kind, data, expires_at) VALUES (?, ?, ?, ?, ?)`,
		c.ID, c.UserID, c.Kind, c.Data, micros(c.ExpiresAt))
	return err
}

// TakeCeremony removes and returns an unexpired ceremony of a kind (each
// is used once).
func (s *Store) TakeCeremony(ctx context.Context, id, kind string, now time.Time) (Ceremony, error) {
	var c Ceremony
	err := s.InTx(ctx, func(tx *Store) error {
		var exp int64
		err := tx.queryRow(ctx, `SELECT id, user_id, kind, data, expires_at FROM webauthn_ceremonies WHERE id = ? AND kind = ?`, id, kind).
			Scan(&c.ID, &c.UserID, &c.Kind, &c.Data, &exp)
		if err != nil {
			return mapErr(err)
		}
		c.ExpiresAt = fromMicros(exp)
		if _, err := tx.exec(ctx, `DELETE FROM webauthn_ceremonies WHERE id = ?`, id); err != nil {
			return err
		}
		if !now.Before(c.ExpiresAt) {
			return ErrNotFound
		}
		return nil
	})
	return c, err
}
