package api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"ecode/internal/auth"
	"ecode/internal/store"
)

// Sign-up policies an admin can choose.
const (
	SignupOpen   = "open"   // anyone who reaches the server
	SignupInvite = "invite" // only with an invite link
	SignupClosed = "closed" // nobody (admins create accounts by other means)
)

const (
	signupPolicyKey   = "signup_policy"
	inviteLifeDefault = 7 * 24 * time.Hour
)

// signupPolicy is the admin's choice, or the configuration's default.
func (s *Server) signupPolicy(r *http.Request) (string, error) {
	v, err := s.store.Setting(r.Context(), signupPolicyKey)
	if errors.Is(err, store.ErrNotFound) {
		if s.opts.SignupOpen {
			return SignupOpen, nil
		}
		return SignupClosed, nil
	}
	return v, err
}

// checkSignupAllowed refuses a sign-up the policy does not allow. The
// first account can always be made.
func (s *Server) checkSignupAllowed(r *http.Request, invite string) error {
	policy, err := s.signupPolicy(r)
	if err != nil || policy == SignupOpen {
		return err
	}
	n, err := s.store.CountUsers(r.Context())
	if err != nil || n == 0 {
		return err
	}
	switch {
	case policy == SignupInvite && invite == "":
		return &Error{Status: http.StatusForbidden, Code: "invite_required",
			Message: "sign-up on this server needs an invite link; ask an admin for one"}
	case policy == SignupClosed:
		return &Error{Status: http.StatusForbidden, Code: "signup_closed",
			Message: "sign-up is closed on this server; ask an admin for an account"}
	}
	return nil
}

// tooManyRequests is a 429 with Retry-After (whole seconds, at least 1).
func tooManyRequests(w http.ResponseWriter, code, msg string, wait time.Duration) error {
	w.Header().Set("Retry-After", fmt.Sprint(max(1, int(math.Ceil(wait.Seconds())))))
	return &Error{Status: http.StatusTooManyRequests, Code: code, Message: msg}
}

// waitPhrase says how long to wait, in words a person reads.
func waitPhrase(d time.Duration) string {
	secs := max(1, int(math.Ceil(d.Seconds())))
	switch {
	case secs < 90:
		return fmt.Sprintf("try again in %d s", secs)
	default:
		return fmt.Sprintf("try again in %d min", (secs+59)/60)
	}
}

// errBusy answers a request that found every password-hashing slot taken.
func errBusy(w http.ResponseWriter) error {
	w.Header().Set("Retry-After", "2")
	return &Error{Status: http.StatusServiceUnavailable, Code: "busy", Message: auth.ErrBusy.Error()}
}

type signupPolicyJSON struct {
	Policy string `json:"policy"`
}

func (q *signupPolicyJSON) validate() map[string]string {
	if q.Policy != SignupOpen && q.Policy != SignupInvite && q.Policy != SignupClosed {
		return map[string]string{"policy": "must be open, invite or closed"}
	}
	return nil
}

func (s *Server) getSignupPolicy(w http.ResponseWriter, r *http.Request) error {
	p, err := s.signupPolicy(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, signupPolicyJSON{p})
	return nil
}

func (s *Server) putSignupPolicy(w http.ResponseWriter, r *http.Request) error {
	var q signupPolicyJSON
	if err := decode(w, r, &q); err != nil {
		return err
	}
	if err := s.store.SetSetting(r.Context(), signupPolicyKey, q.Policy); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, q)
	return nil
}

// Invite is the public form of an invite link (never its token, which is
// shown once, at creation).
type Invite struct {
	ID        string     `json:"id"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	UsedAt    *time.Time `json:"used_at,omitempty"`
	Status    string     `json:"status"` // active, used, expired
}

func (s *Server) inviteJSON(x store.Invite) Invite {
	out := Invite{ID: x.ID, CreatedAt: x.CreatedAt, ExpiresAt: x.ExpiresAt, UsedAt: x.UsedAt, Status: "active"}
	switch {
	case x.UsedAt != nil:
		out.Status = "used"
	case !s.now().Before(x.ExpiresAt):
		out.Status = "expired"
	}
	return out
}

type createInviteRequest struct {
	ExpiresInHours int `json:"expires_in_hours,omitempty"`
}

func (q *createInviteRequest) validate() map[string]string {
	if q.ExpiresInHours < 0 || q.ExpiresInHours > 24*90 {
		return map[string]string{"expires_in_hours": "must be between 1 and 2160 (90 days)"}
	}
	return nil
}

func (s *Server) listInvites(w http.ResponseWriter, r *http.Request) error {
	xs, err := s.store.ListInvites(r.Context())
	if err != nil {
		return err
	}
	out := make([]Invite, 0, len(xs))
	for _, x := range xs {
		out = append(out, s.inviteJSON(x))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) createInvite(w http.ResponseWriter, r *http.Request) error {
	var q createInviteRequest
	if r.ContentLength != 0 {
		if err := decode(w, r, &q); err != nil {
			return err
		}
	}
	life := inviteLifeDefault
	if q.ExpiresInHours > 0 {
		life = time.Duration(q.ExpiresInHours) * time.Hour
	}
	token, hash := auth.NewToken("eci_")
	now := s.now()
	x := store.Invite{ID: auth.NewID(), TokenHash: hash, CreatedBy: principal(r).User.ID, CreatedAt: now, ExpiresAt: now.Add(life)}
	if err := s.store.CreateInvite(r.Context(), x); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"invite": s.inviteJSON(x), "token": token,
		"path": "/signup?invite=" + token})
	return nil
}

func (s *Server) revokeInvite(w http.ResponseWriter, r *http.Request) error {
	err := s.store.DeleteInvite(r.Context(), r.PathValue("iid"))
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("invite")
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
