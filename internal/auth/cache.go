package auth

import (
	"time"

	"ecode/internal/revoke"
	"ecode/internal/store"
)

// Cached credentials: a session or token with its user, by token hash.
// Revocation and account changes reach the cache through the bus on every
// node (package revoke), so it never answers for what was revoked.
type (
	sessionHit struct {
		x store.Session
		u store.User
	}
	tokenHit struct {
		t store.Token
		u store.User
	}
)

// UseCache keeps resolved sessions and tokens in memory for at most ttl,
// dropped by the events on bus (call before serving).
func (s *Service) UseCache(bus *revoke.Bus, ttl time.Duration) {
	s.sessions = revoke.NewCache[sessionHit](bus, ttl, 100_000)
	s.tokens = revoke.NewCache[tokenHit](bus, ttl, 100_000)
}

// cachedSession answers from the cache when the session is there and needs
// no work (no timeout reached, no activity to record); gen is for putSession.
func (s *Service) cachedSession(hash string) (p Principal, gen uint64, ok bool) {
	if s.sessions == nil {
		return p, 0, false
	}
	h, gen, ok := s.sessions.Get(hash)
	if !ok {
		return p, gen, false
	}
	now := s.now()
	if !now.Before(h.x.ExpiresAt) || now.Sub(h.x.LastSeenAt) >= min(s.idle, s.touchEvery) {
		return p, gen, false
	}
	return Principal{User: h.u, SessionID: h.x.ID}, gen, true
}

func (s *Service) putSession(hash string, x store.Session, u store.User, gen uint64) {
	if s.sessions != nil {
		s.sessions.Put(hash, revoke.Event{SessionID: x.ID, UserID: u.ID}, sessionHit{x, u}, gen)
	}
}

func (s *Service) cachedToken(hash string) (p Principal, gen uint64, ok bool) {
	if s.tokens == nil {
		return p, 0, false
	}
	h, gen, ok := s.tokens.Get(hash)
	if !ok || h.t.LastUsedAt == nil || s.now().Sub(*h.t.LastUsedAt) >= s.touchEvery {
		return p, gen, false
	}
	return Principal{User: h.u, TokenID: h.t.ID}, gen, true
}

func (s *Service) putToken(hash string, t store.Token, u store.User, gen uint64) {
	if s.tokens != nil {
		s.tokens.Put(hash, revoke.Event{TokenID: t.ID, UserID: u.ID}, tokenHit{t, u}, gen)
	}
}
