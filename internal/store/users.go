package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// User is an account.
type User struct {
	ID           string
	Email        string
	Name         string
	PasswordHash string
	IsAdmin      bool
	CreatedAt    time.Time
	Disabled     bool       // a disabled user cannot sign in; their sessions and tokens stop working
	LastLoginAt  *time.Time // nil: never signed in
}

const userColumns = `id, email, name, password_hash, is_admin, created_at, disabled, last_login_at`

func scanUser(sc interface{ Scan(...any) error }) (User, error) {
	var u User
	var created int64
	var last sql.NullInt64
	err := sc.Scan(&u.ID, &u.Email, &u.Name, &u.PasswordHash, &u.IsAdmin, &created, &u.Disabled, &last)
	u.CreatedAt, u.LastLoginAt = fromMicros(created), fromNullMicros(last)
	return u, mapErr(err)
}

// CreateUser inserts u. The first user ever created becomes an admin; the
// returned user says whether it did. A taken email gives ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u User) (User, error) {
	err := s.InTx(ctx, func(tx *Store) error {
		if tx.engine == Postgres {
			// Serialise sign-ups so that exactly one first user becomes admin.
			if _, err := tx.exec(ctx, `LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`); err != nil {
				return err
			}
		}
		var n int
		if err := tx.w().QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
			return err
		}
		u.IsAdmin = u.IsAdmin || n == 0
		_, err := tx.exec(ctx, `INSERT INTO users (id, email, name, password_hash, is_admin, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			u.ID, u.Email, u.Name, u.PasswordHash, u.IsAdmin, micros(u.CreatedAt))
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// UserByID returns the user with the given id.
func (s *Store) UserByID(ctx context.Context, id string) (User, error) {
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if err != nil {
		return User{}, fmt.Errorf("user %s: %w", id, err)
	}
	return u, nil
}

// UserByEmail returns the user with the given (already normalised) email.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, email))
	if err != nil {
		return User{}, fmt.Errorf("user by email: %w", err)
	}
	return u, nil
}

// CountUsers returns how many accounts exist.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

// ListUsers returns every account, oldest first.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.query(ctx, `SELECT `+userColumns+` FROM users ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var us []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		us = append(us, u)
	}
	return us, rows.Err()
}
