package auth

import (
	"context"
	"errors"

	"ecode/internal/store"
)

// sessionSignedIn reports whether a session read from the store is signed
// in: its second factor given, its account not disabled (its timeouts
// aside).
func sessionSignedIn(x store.Session, u store.User) bool {
	return !x.PendingMFA && !u.Disabled
}

// SessionHolds reports whether the session with this ID still
// authenticates: it exists, is signed in and has not reached its absolute
// limit. Its idle time is not held against it: the requests it has open
// are activity that is not recorded. Live requests are re-checked with it
// while revocations may not reach this node (live.Recheck).
func (s *Service) SessionHolds(ctx context.Context, id string) (bool, error) {
	x, u, err := s.store.SessionWithUserByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return sessionSignedIn(x, u) && s.now().Before(x.ExpiresAt), nil
}

// TokenHolds reports whether the personal access token with this ID still
// authenticates: it exists and its account is not disabled.
func (s *Service) TokenHolds(ctx context.Context, id string) (bool, error) {
	_, u, err := s.store.TokenWithUserByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !u.Disabled, nil
}

// UserHolds reports whether the account with this ID exists and is not
// disabled.
func (s *Service) UserHolds(ctx context.Context, id string) (bool, error) {
	u, err := s.store.UserByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !u.Disabled, nil
}
