package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrLastAdmin is returned when a change would leave the server without an
// enabled admin.
var ErrLastAdmin = errors.New("the last admin cannot lose admin rights or be disabled or deleted")

// RecordLogin sets a user's last sign-in time.
func (s *Store) RecordLogin(ctx context.Context, userID string, at time.Time) error {
	return affected(s.exec(ctx, `UPDATE users SET last_login_at = ? WHERE id = ?`, micros(at), userID))
}

// UpdateProfile changes a user's name and email; a taken email gives
// ErrConflict.
func (s *Store) UpdateProfile(ctx context.Context, userID, name, email string) error {
	err := affected(s.exec(ctx, `UPDATE users SET name = ?, email = ? WHERE id = ?`, name, email, userID))
	if err != nil {
		return fmt.Errorf("update profile of %s: %w", userID, err)
	}
	return nil
}

// SetPassword stores a new password hash and ends every session of the user
// but keepSessionID (empty: all of them).
func (s *Store) SetPassword(ctx context.Context, userID, hash, keepSessionID string) error {
	return s.InTx(ctx, func(tx *Store) error {
		if err := affected(tx.exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, userID)); err != nil {
			return err
		}
		return tx.DeleteUserSessions(ctx, userID, keepSessionID)
	})
}

// DeleteUserSessions ends every session of a user but exceptID.
func (s *Store) DeleteUserSessions(ctx context.Context, userID, exceptID string) error {
	_, err := s.exec(ctx, `DELETE FROM sessions WHERE user_id = ? AND id <> ?`, userID, exceptID)
	return err
}

// countOtherAdmins counts enabled admins other than userID.
func (s *Store) countOtherAdmins(ctx context.Context, userID string) (int, error) {
	if s.engine == Postgres {
		// Serialise admin changes so that two demotions cannot both see the other admin.
		if _, err := s.exec(ctx, `LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return 0, err
		}
	}
	var n int
	err := s.w().QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM users WHERE is_admin = ? AND disabled = ? AND id <> ?`),
		true, false, userID).Scan(&n)
	return n, err
}

// guardLastAdmin returns ErrLastAdmin when userID is an enabled admin and no
// other enabled admin exists. It must run inside InTx.
func (s *Store) guardLastAdmin(ctx context.Context, userID string) error {
	u, err := scanUser(s.w().QueryRowContext(ctx, s.q(`SELECT `+userColumns+` FROM users WHERE id = ?`), userID))
	if err != nil {
		return err
	}
	if !u.IsAdmin || u.Disabled {
		return nil
	}
	n, err := s.countOtherAdmins(ctx, userID)
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrLastAdmin
	}
	return nil
}

// SetAdmin grants or revokes admin rights; revoking the last admin's gives
// ErrLastAdmin.
func (s *Store) SetAdmin(ctx context.Context, userID string, admin bool) error {
	return s.InTx(ctx, func(tx *Store) error {
		if !admin {
			if err := tx.guardLastAdmin(ctx, userID); err != nil {
				return err
			}
		}
		return affected(tx.exec(ctx, `UPDATE users SET is_admin = ? WHERE id = ?`, admin, userID))
	})
}

// SetDisabled disables or enables a user. Disabling ends their sessions at
// once (their tokens are refused while the user is disabled); disabling the
// last admin gives ErrLastAdmin.
func (s *Store) SetDisabled(ctx context.Context, userID string, disabled bool) error {
	return s.InTx(ctx, func(tx *Store) error {
		if disabled {
			if err := tx.guardLastAdmin(ctx, userID); err != nil {
				return err
			}
		}
		if err := affected(tx.exec(ctx, `UPDATE users SET disabled = ? WHERE id = ?`, disabled, userID)); err != nil {
			return err
		}
		if !disabled {
			return nil
		}
		return tx.DeleteUserSessions(ctx, userID, "")
	})
}

// OwnedProjects returns the ids of the projects userID owns.
func (s *Store) OwnedProjects(ctx context.Context, userID string) ([]string, error) {
	return s.queryIDs(ctx, "owned projects", `SELECT id FROM projects WHERE owner_id = ? ORDER BY created_at, id`, userID)
}

// DeleteUser deletes a user and, when transferTo is not empty, first gives
// every project they own to transferTo (who becomes its owner; an existing
// membership is replaced). Projects still owned when the row goes are deleted
// with it (the caller removes their files first). Deleting the last admin
// gives ErrLastAdmin.
func (s *Store) DeleteUser(ctx context.Context, userID, transferTo string, at time.Time) error {
	return s.InTx(ctx, func(tx *Store) error {
		if err := tx.guardLastAdmin(ctx, userID); err != nil {
			return err
		}
		if transferTo != "" {
			if err := tx.transferProjects(ctx, userID, transferTo, at); err != nil {
				return err
			}
		}
		return affected(tx.exec(ctx, `DELETE FROM users WHERE id = ?`, userID))
	})
}

func (tx *Store) transferProjects(ctx context.Context, from, to string, at time.Time) error {
	steps := []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM project_members WHERE user_id = ? AND project_id IN (SELECT id FROM projects WHERE owner_id = ?)`, []any{to, from}},
		{`UPDATE project_members SET user_id = ? WHERE user_id = ? AND project_id IN (SELECT id FROM projects WHERE owner_id = ?)`, []any{to, from, from}},
		{`UPDATE projects SET owner_id = ?, updated_at = ? WHERE owner_id = ?`, []any{to, micros(at), from}},
	}
	for _, st := range steps {
		if _, err := tx.exec(ctx, st.sql, st.args...); err != nil {
			return fmt.Errorf("transfer projects: %w", err)
		}
	}
	return nil
}
