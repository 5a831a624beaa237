package auth

import (
	"context"
	"errors"

	"ecode/internal/store"
)

// ErrAccountDisabled is returned when a disabled user signs in.
var ErrAccountDisabled = errors.New("this account is disabled")

// StartPendingSession creates a session that only proves the password: it
// reaches nothing but the second-factor step, and ends after five minutes.
func (s *Service) StartPendingSession(ctx context.Context, userID, userAgent, ip string) (string, store.Session, error) {
	return s.newSession(ctx, userID, userAgent, ip, true)
}

// PendingUser resolves a session waiting for its second factor.
func (s *Service) PendingUser(ctx context.Context, token string) (store.User, error) {
	x, u, err := s.store.SessionWithUser(ctx, HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrNoSession
	}
	if err != nil {
		return store.User{}, err
	}
	if !x.PendingMFA || u.Disabled || !s.now().Before(x.ExpiresAt) {
		return store.User{}, ErrNoSession
	}
	return u, nil
}

// ChangePassword checks the current password, stores the new one and ends
// every other session of the user (keepSessionID stays signed in).
func (s *Service) ChangePassword(ctx context.Context, u store.User, current, next, keepSessionID string) error {
	ok, err := CheckPassword(u.PasswordHash, current)
	if err != nil {
		return err
	}
	if !ok {
		return ErrBadCredentials
	}
	hash, err := HashPassword(next)
	if err != nil {
		return err
	}
	return s.store.SetPassword(ctx, u.ID, hash, keepSessionID)
}
