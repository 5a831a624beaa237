package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// TOTP is a user's authenticator-app second factor. Secret is sealed by the
// caller (package secretbox); LastStep is the last accepted time-step, so a
// code is never accepted twice.
type TOTP struct {
	UserID    string
	Secret    string
	Enabled   bool
	LastStep  int64
	CreatedAt time.Time
}

// TOTPOf returns a user's TOTP row (ErrNotFound: never enrolled).
func (s *Store) TOTPOf(ctx context.Context, userID string) (TOTP, error) {
	var t TOTP
	var at int64
	err := s.queryRow(ctx, `SELECT user_id, secret, enabled, last_step, created_at FROM user_totp WHERE user_id = ?`, userID).
		Scan(&t.UserID, &t.Secret, &t.Enabled, &t.LastStep, &at)
	if err != nil {
		return TOTP{}, fmt.Errorf("totp of %s: %w", userID, mapErr(err))
	}
	t.CreatedAt = fromMicros(at)
	return t, nil
}

// StartTOTP stores a new, not yet enabled, secret for a user whose TOTP is
// not enabled; an enabled one gives ErrConflict.
func (s *Store) StartTOTP(ctx context.Context, t TOTP) error {
	return s.InTx(ctx, func(tx *Store) error {
		cur, err := tx.TOTPOf(ctx, t.UserID)
		switch {
		case err == nil && cur.Enabled:
			return ErrConflict
		case err == nil:
			_, err := tx.exec(ctx, `UPDATE user_totp SET secret = ?, last_step = 0, created_at = ? WHERE user_id = ?`,
				t.Secret, micros(t.CreatedAt), t.UserID)
			return err
		case !errors.Is(err, ErrNotFound):
			return err
		}
		_, err = tx.exec(ctx, `INSERT INTO user_totp (user_id, secret, enabled, last_step, created_at) VALUES (?, ?, ?, 0, ?)`,
			t.UserID, t.Secret, false, micros(t.CreatedAt))
		return err
	})
}

// EnableTOTP turns TOTP on, records step as used and replaces the recovery
// codes with codeHashes.
func (s *Store) EnableTOTP(ctx context.Context, userID string, step int64, codeHashes []string) error {
	return s.InTx(ctx, func(tx *Store) error {
		if err := affected(tx.exec(ctx, `UPDATE user_totp SET enabled = ?, last_step = ? WHERE user_id = ? AND enabled = ?`,
			true, step, userID, false)); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return err
		}
		for _, h := range codeHashes {
			if _, err := tx.exec(ctx, `INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)`, userID, h); err != nil {
				return err
			}
		}
		return nil
	})
}

// UseTOTPStep records step as accepted if it is later than the last one;
// ErrConflict means the step (or a later one) was already used.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	err := affected(s.exec(ctx, `UPDATE user_totp SET last_step = ? WHERE user_id = ? AND enabled = ? AND last_step < ?`,
		step, userID, true, step))
	if errors.Is(err, ErrNotFound) {
		return ErrConflict
	}
	return err
}

// UseRecoveryCode marks an unused recovery code as used; ErrNotFound means
// there is no such unused code.
func (s *Store) UseRecoveryCode(ctx context.Context, userID, codeHash string, at time.Time) error {
	return affected(s.exec(ctx, `UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`,
		micros(at), userID, codeHash))
}

// RecoveryCodesLeft counts a user's unused recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&n)
	return n, err
}

// DeleteTOTP turns TOTP off and drops the recovery codes.
func (s *Store) DeleteTOTP(ctx context.Context, userID string) error {
	return s.InTx(ctx, func(tx *Store) error {
		if _, err := tx.exec(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return err
		}
		return affected(tx.exec(ctx, `DELETE FROM user_totp WHERE user_id = ?`, userID))
	})
}

// TwoFactorUsers returns the ids of users with TOTP enabled.
func (s *Store) TwoFactorUsers(ctx context.Context) (map[string]bool, error) {
	rows, err := s.query(ctx, `SELECT user_id FROM user_totp WHERE enabled = ?`, true)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}
