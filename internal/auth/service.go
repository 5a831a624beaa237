package auth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"ecode/internal/revoke"
	"ecode/internal/secretbox"
	"ecode/internal/store"
)

// Errors the caller turns into responses.
var (
	ErrBadCredentials = errors.New("wrong email or password")
	ErrRateLimited    = errors.New("too many attempts")
	ErrEmailTaken     = errors.New("an account with this email already exists")
	ErrNoSession      = errors.New("no valid session or token")
	ErrBadInvite      = errors.New("this invite link is not valid: it was used, revoked or has expired")
)

// Service signs people up and in and resolves their credentials.
type Service struct {
	store      *store.Store
	now        func() time.Time
	idle, max  time.Duration
	login      *loginLimits
	signups    *Limiter
	ceremonies *Limiter // passkey sign-ins begun, per client address
	hash       *hashPool
	dummyHash  string
	touchEvery time.Duration
	box        *secretbox.Box            // seals TOTP secrets; nil: no two-factor
	mfaLimiter *Limiter                  // second-factor attempts per account
	sessions   *revoke.Cache[sessionHit] // nil: no cache (see UseCache)
	tokens     *revoke.Cache[tokenHit]
	// sharedState, when set, holds the rate limits (ShareLimits).
	sharedState SharedState
}

// NewService builds the auth service; now is the clock.
func NewService(st *store.Store, now func() time.Time, idle, max time.Duration) (*Service, error) {
	dummy, err := HashPassword("dummy password for timing")
	if err != nil {
		return nil, err
	}
	return &Service{
		store: st, now: now, idle: idle, max: max,
		login: newLoginLimits(now),
		// 20 sign-ups at once per address, then one a minute.
		signups: NewLimiter(now, 20, time.Minute),
		// 10 passkey ceremonies at once per address, then one every 6 seconds.
		ceremonies: NewLimiter(now, 10, 6*time.Second),
		hash:       newHashPool(0, 2*time.Second),
		dummyHash:  dummy,
		touchEvery: time.Minute,
		// 5 second-factor attempts at once per account, then one a minute.
		mfaLimiter: NewLimiter(now, 5, time.Minute),
	}, nil
}

// NormalizeEmail lower-cases and trims an address and checks its form.
func NormalizeEmail(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || !strings.Contains(email, "@") {
		return "", errors.New("not a valid email address")
	}
	return email, nil
}

// Limits tune the protections against floods; zero fields keep the defaults.
type Limits struct {
	HashSlots   int           // password hashes computed at once (19 MiB each)
	HashWait    time.Duration // how long a request waits for a hashing slot
	SignupBurst int           // sign-ups per client address at once…
	SignupEvery time.Duration // …then one per this interval
}

// SetLimits changes the flood protections (call before serving).
func (s *Service) SetLimits(l Limits) {
	if l.HashSlots > 0 || l.HashWait > 0 {
		s.hash = newHashPool(l.HashSlots, cmp.Or(l.HashWait, s.hash.wait))
	}
	if l.SignupBurst > 0 && l.SignupEvery > 0 {
		s.signups = NewLimiter(s.now, l.SignupBurst, l.SignupEvery)
		if s.sharedState != nil {
			s.signups.Share(s.sharedState, "signup:")
		}
	}
}

// AllowSignup takes a sign-up attempt from a client address, or says how
// long it must wait.
func (s *Service) AllowSignup(clientIP string) (bool, time.Duration) {
	return s.signups.Allow(clientIP)
}

// Signup creates an account. The first account becomes admin.
func (s *Service) Signup(ctx context.Context, email, name, password string) (store.User, error) {
	return s.SignupInvited(ctx, email, name, password, "")
}

// SignupInvited creates an account, using up the invite token when one is
// given (ErrBadInvite when it is unknown, used or expired).
func (s *Service) SignupInvited(ctx context.Context, email, name, password, invite string) (store.User, error) {
	hash, err := s.hash.hash(ctx, password)
	if err != nil {
		return store.User{}, err
	}
	u := store.User{ID: NewID(), Email: email, Name: name, PasswordHash: hash, CreatedAt: s.now()}
	err = s.store.InTx(ctx, func(tx *store.Store) error {
		if invite != "" {
			if err := tx.UseInvite(ctx, HashToken(invite), u.ID, s.now()); errors.Is(err, store.ErrNotFound) {
				return ErrBadInvite
			} else if err != nil {
				return err
			}
		}
		u, err = tx.CreateUser(ctx, u)
		return err
	})
	if errors.Is(err, store.ErrConflict) {
		return store.User{}, ErrEmailTaken
	}
	return u, err
}

// Login checks credentials. Attempts are limited per (client address,
// email), per address and, loosely, per email; see loginLimits.
func (s *Service) Login(ctx context.Context, email, password, clientIP string) (store.User, error) {
	if ok, wait := s.login.begin(clientIP, email); !ok {
		return store.User{}, &RateLimitError{Wait: wait}
	}
	u, err := s.store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		if _, err := s.hash.check(ctx, s.dummyHash, password); err != nil { // same work as a wrong password
			return store.User{}, err
		}
		return store.User{}, ErrBadCredentials
	}
	if err != nil {
		return store.User{}, err
	}
	ok, err := s.hash.check(ctx, u.PasswordHash, password)
	if errors.Is(err, ErrBusy) {
		return store.User{}, err
	}
	if err != nil {
		return store.User{}, fmt.Errorf("check password of %s: %w", u.ID, err)
	}
	if !ok {
		return store.User{}, ErrBadCredentials
	}
	s.login.succeeded(clientIP, email)
	return u, nil
}

// StartSession creates a fresh session (a new id at every login) and returns
// its token for the cookie.
func (s *Service) StartSession(ctx context.Context, userID, userAgent, ip string) (string, store.Session, error) {
	return s.newSession(ctx, userID, userAgent, ip, false)
}

func (s *Service) newSession(ctx context.Context, userID, userAgent, ip string, pendingMFA bool) (string, store.Session, error) {
	token, hash := NewToken("ecs_")
	now := s.now()
	if len(userAgent) > 300 {
		userAgent = userAgent[:300]
	}
	x := store.Session{
		ID: NewID(), TokenHash: hash, UserID: userID, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(s.max), UserAgent: userAgent, IP: ip, PendingMFA: pendingMFA,
	}
	if pendingMFA {
		x.ExpiresAt = now.Add(pendingMFATime)
	}
	return token, x, s.store.CreateSession(ctx, x)
}

// EndSession deletes the session holding token.
func (s *Service) EndSession(ctx context.Context, token string) error {
	x, err := s.store.SessionByTokenHash(ctx, HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.store.DeleteSession(ctx, x.UserID, x.ID)
}

// Principal is who is making a request.
type Principal struct {
	User      store.User
	SessionID string // empty for token callers
	TokenID   string // empty for session callers
}

// SessionUser resolves a session token, enforcing the idle and absolute
// timeouts, and records activity (at most once a minute).
func (s *Service) SessionUser(ctx context.Context, token string) (Principal, error) {
	hash := HashToken(token)
	p, gen, ok := s.cachedSession(hash)
	if ok {
		return p, nil
	}
	x, u, err := s.store.SessionWithUser(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrNoSession
	}
	if err != nil {
		return Principal{}, err
	}
	if !sessionSignedIn(x, u) {
		return Principal{}, ErrNoSession
	}
	now := s.now()
	if !now.Before(x.ExpiresAt) || now.Sub(x.LastSeenAt) > s.idle {
		if err := s.store.DeleteSession(ctx, x.UserID, x.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return Principal{}, err
		}
		return Principal{}, ErrNoSession
	}
	if now.Sub(x.LastSeenAt) >= s.touchEvery {
		if err := s.store.TouchSession(ctx, x.ID, now); err != nil && !errors.Is(err, store.ErrNotFound) {
			return Principal{}, err
		}
		x.LastSeenAt = now
	}
	s.putSession(hash, x, u, gen)
	return Principal{User: u, SessionID: x.ID}, nil
}

// TokenUser resolves a personal access token.
func (s *Service) TokenUser(ctx context.Context, token string) (Principal, error) {
	hash := HashToken(token)
	p, gen, ok := s.cachedToken(hash)
	if ok {
		return p, nil
	}
	t, u, err := s.store.TokenWithUser(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrNoSession
	}
	if err != nil {
		return Principal{}, err
	}
	if u.Disabled {
		return Principal{}, ErrNoSession
	}
	now := s.now()
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= s.touchEvery {
		if err := s.store.TouchToken(ctx, t.ID, now); err != nil && !errors.Is(err, store.ErrNotFound) {
			return Principal{}, err
		}
		t.LastUsedAt = &now
	}
	s.putToken(hash, t, u, gen)
	return Principal{User: u, TokenID: t.ID}, nil
}

// CreateToken makes a personal access token and returns it (shown once).
func (s *Service) CreateToken(ctx context.Context, userID, name string) (string, store.Token, error) {
	token, hash := NewToken("ecp_")
	t := store.Token{ID: NewID(), UserID: userID, Name: name, TokenHash: hash, CreatedAt: s.now()}
	return token, t, s.store.CreateToken(ctx, t)
}

// SweepSessions removes expired sessions.
func (s *Service) SweepSessions(ctx context.Context) (int64, error) {
	now := s.now()
	return s.store.DeleteExpiredSessions(ctx, now, now.Add(-s.idle))
}
