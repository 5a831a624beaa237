package api

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"ecode/internal/auth"
	"ecode/internal/store"
)

// relyingParty binds passkeys to the host of --public-url, or (without one)
// to the host the browser used, e.g. localhost. WebAuthn needs a host name:
// an IP address cannot be a relying party.
func (s *Server) relyingParty(r *http.Request) (auth.RelyingParty, error) {
	rp := auth.RelyingParty{ID: r.Host, Origin: "http://" + r.Host}
	if r.TLS != nil {
		rp.Origin = "https://" + r.Host
	}
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		rp.ID = h
	}
	if u, err := url.Parse(s.opts.PublicURL); err == nil && u.Host != "" {
		rp = auth.RelyingParty{ID: u.Hostname(), Origin: u.Scheme + "://" + u.Host}
	}
	if net.ParseIP(strings.Trim(rp.ID, "[]")) != nil {
		return rp, &Error{Status: http.StatusBadRequest, Code: "passkeys_unavailable",
			Message: "passkeys need a host name, not an IP address: open the server by name (e.g. localhost) or set --public-url"}
	}
	return rp, nil
}

type passkeyJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func (s *Server) listPasskeys(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.store.Passkeys(r.Context(), principal(r).User.ID)
	if err != nil {
		return err
	}
	out := make([]passkeyJSON, 0, len(ps))
	for _, p := range ps {
		out = append(out, passkeyJSON{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt, LastUsedAt: p.LastUsedAt})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// ceremonyJSON starts a WebAuthn ceremony: the options for
// navigator.credentials.create/get and the id to send back with the answer.
type ceremonyJSON struct {
	Ceremony string `json:"ceremony"`
	Options  any    `json:"options"`
}

func (s *Server) beginPasskeyRegistration(w http.ResponseWriter, r *http.Request) error {
	rp, err := s.relyingParty(r)
	if err != nil {
		return err
	}
	opts, id, err := s.auth.BeginPasskeyRegistration(r.Context(), principal(r).User, rp)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ceremonyJSON{Ceremony: id, Options: opts})
	return nil
}

// finishRequest carries the browser's answer to a ceremony, as the JSON of
// the PublicKeyCredential.
type finishRequest struct {
	Ceremony   string          `json:"ceremony"`
	Name       string          `json:"name,omitempty"`
	Credential json.RawMessage `json:"credential"`
}

func (q *finishRequest) validate() map[string]string {
	f := map[string]string{}
	if q.Ceremony == "" {
		f["ceremony"] = "required"
	}
	if len(q.Credential) == 0 {
		f["credential"] = "required"
	}
	q.Name = strings.TrimSpace(q.Name)
	if utf8.RuneCountInString(q.Name) > 100 {
		f["name"] = "at most 100 characters"
	}
	return f
}

var errPasskey = &Error{Status: http.StatusBadRequest, Code: "passkey_failed", Message: auth.ErrPasskey.Error()}

func (s *Server) finishPasskeyRegistration(w http.ResponseWriter, r *http.Request) error {
	var q finishRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	if q.Name == "" {
		q.Name = "Passkey"
	}
	rp, err := s.relyingParty(r)
	if err != nil {
		return err
	}
	p, err := s.auth.FinishPasskeyRegistration(r.Context(), principal(r).User, rp, q.Ceremony, q.Name, q.Credential)
	if errors.Is(err, auth.ErrPasskey) {
		s.log.Debug("passkey registration refused", "err", err, "request_id", requestID(r.Context()))
		return errPasskey
	}
	if errors.Is(err, store.ErrConflict) {
		return errConflict("this passkey is already registered")
	}
	if err != nil {
		return err
	}
	s.auditSelf(r, evPasskeyAdded, p.Name)
	writeJSON(w, http.StatusCreated, passkeyJSON{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt})
	return nil
}

func (s *Server) deletePasskey(w http.ResponseWriter, r *http.Request) error {
	err := s.store.DeletePasskey(r.Context(), principal(r).User.ID, r.PathValue("pid"))
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("passkey")
	}
	if err != nil {
		return err
	}
	s.auditSelf(r, evPasskeyRemoved, r.PathValue("pid"))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// pendingOrNil is the user waiting for a second factor in this browser, or
// nil: a passkey then signs in without a password.
func (s *Server) pendingOrNil(r *http.Request) (*store.User, error) {
	u, err := s.pendingUser(r)
	if errors.Is(err, auth.ErrNoSession) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// beginPasskeyLogin starts a passkey sign-in: the second factor of a sign-in
// whose password was accepted, or a password-less one.
func (s *Server) beginPasskeyLogin(w http.ResponseWriter, r *http.Request) error {
	rp, err := s.relyingParty(r)
	if err != nil {
		return err
	}
	pending, err := s.pendingOrNil(r)
	if err != nil {
		return err
	}
	opts, id, err := s.auth.BeginPasskeyLogin(r.Context(), pending, rp, clientIP(r))
	if errors.Is(err, auth.ErrPasskey) {
		return errBadRequest("this account has no passkey")
	}
	if errors.Is(err, auth.ErrRateLimited) {
		w.Header().Set("Retry-After", "10")
		return &Error{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: "too many passkey sign-ins; wait a moment"}
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ceremonyJSON{Ceremony: id, Options: opts})
	return nil
}

func (s *Server) finishPasskeyLogin(w http.ResponseWriter, r *http.Request) error {
	var q finishRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	rp, err := s.relyingParty(r)
	if err != nil {
		return err
	}
	pending, err := s.pendingOrNil(r)
	if err != nil {
		return err
	}
	u, err := s.auth.FinishPasskeyLogin(r.Context(), pending, rp, q.Ceremony, q.Credential)
	if errors.Is(err, auth.ErrPasskey) {
		s.log.Debug("passkey sign-in refused", "err", err, "request_id", requestID(r.Context()))
		if pending != nil {
			s.audit(r, evSecondFactorBad, pending.ID, "", "passkey refused")
		}
		return errPasskey
	}
	if err != nil {
		return err
	}
	if err := s.refuseDisabled(r, u); err != nil {
		return err
	}
	method := "passkey"
	if pending != nil {
		method = "password+passkey"
	}
	return s.signIn(w, r, u, method)
}
