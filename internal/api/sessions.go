package api

import (
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"ecode/internal/revoke"
	"ecode/internal/store"
)

type sessionJSON struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UserAgent  string    `json:"user_agent"`
	IP         string    `json:"ip"`
	Current    bool      `json:"current"`
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	xs, err := s.store.ListSessions(r.Context(), p.User.ID)
	if err != nil {
		return err
	}
	out := make([]sessionJSON, 0, len(xs))
	for _, x := range xs {
		out = append(out, sessionJSON{ID: x.ID, CreatedAt: x.CreatedAt, LastSeenAt: x.LastSeenAt,
			ExpiresAt: x.ExpiresAt, UserAgent: x.UserAgent, IP: x.IP, Current: x.ID == p.SessionID})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request) error {
	err := s.store.DeleteSession(r.Context(), principal(r).User.ID, r.PathValue("sid"))
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("session")
	}
	if err != nil {
		return err
	}
	s.auditSelf(r, evSessionRevoked, r.PathValue("sid"))
	s.revoked(r.Context(), revoke.Event{SessionID: r.PathValue("sid"), End: true})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type tokenJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	Token      string     `json:"token,omitempty"`
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.store.ListTokens(r.Context(), principal(r).User.ID)
	if err != nil {
		return err
	}
	out := make([]tokenJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, tokenJSON{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type tokenRequest struct {
	Name string `json:"name"`
}

func (q *tokenRequest) validate() map[string]string {
	q.Name = strings.TrimSpace(q.Name)
	if q.Name == "" || utf8.RuneCountInString(q.Name) > 100 {
		return map[string]string{"name": "must be 1 to 100 characters"}
	}
	return nil
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var q tokenRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	token, t, err := s.auth.CreateToken(r.Context(), principal(r).User.ID, q.Name)
	if err != nil {
		return err
	}
	s.auditSelf(r, evTokenCreated, t.Name)
	writeJSON(w, http.StatusCreated, tokenJSON{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, Token: token})
	return nil
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	err := s.store.DeleteToken(r.Context(), principal(r).User.ID, r.PathValue("tid"))
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("token")
	}
	if err != nil {
		return err
	}
	s.auditSelf(r, evTokenRevoked, r.PathValue("tid"))
	s.revoked(r.Context(), revoke.Event{TokenID: r.PathValue("tid"), End: true})
	w.WriteHeader(http.StatusNoContent)
	return nil
}
