package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"ecode/internal/auth"
	"ecode/internal/revoke"
	"ecode/internal/store"
)

// adminUserJSON is an account as the admin users page shows it.
type adminUserJSON struct {
	User
	TwoFactor   bool       `json:"two_factor"`
	Disabled    bool       `json:"disabled"`
	LastLoginAt *time.Time `json:"last_login_at"`
}

func (s *Server) adminListUsers(w http.ResponseWriter, r *http.Request) error {
	us, err := s.store.ListUsers(r.Context())
	if err != nil {
		return err
	}
	twoFactor, err := s.store.TwoFactorUsers(r.Context())
	if err != nil {
		return err
	}
	out := make([]adminUserJSON, 0, len(us))
	for _, u := range us {
		out = append(out, adminUserJSON{User: userJSON(u), TwoFactor: twoFactor[u.ID], Disabled: u.Disabled, LastLoginAt: u.LastLoginAt})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// adminTarget loads the user named by {uid}.
func (s *Server) adminTarget(r *http.Request) (store.User, error) {
	u, err := s.store.UserByID(r.Context(), r.PathValue("uid"))
	if errors.Is(err, store.ErrNotFound) {
		return u, errNotFound("user")
	}
	return u, err
}

var errLastAdmin = errConflict(store.ErrLastAdmin.Error())

type adminUserPatch struct {
	Disabled *bool `json:"disabled"`
	IsAdmin  *bool `json:"is_admin"`
}

func (q *adminUserPatch) validate() map[string]string { return nil }

// adminPatchUser disables or enables a user and grants or revokes admin.
func (s *Server) adminPatchUser(w http.ResponseWriter, r *http.Request) error {
	var q adminUserPatch
	if err := decode(w, r, &q); err != nil {
		return err
	}
	u, err := s.adminTarget(r)
	if err != nil {
		return err
	}
	actor := principal(r).User.ID
	if q.Disabled != nil && *q.Disabled != u.Disabled {
		if err := s.store.SetDisabled(r.Context(), u.ID, *q.Disabled); errors.Is(err, store.ErrLastAdmin) {
			return errLastAdmin
		} else if err != nil {
			return err
		}
		// Open WebSockets and streams end with the sessions.
		s.revoked(r.Context(), revoke.Event{UserID: u.ID, End: *q.Disabled})
		s.audit(r, map[bool]string{true: evUserDisabled, false: evUserEnabled}[*q.Disabled], u.ID, actor, u.Email)
	}
	if q.IsAdmin != nil && *q.IsAdmin != u.IsAdmin {
		if err := s.store.SetAdmin(r.Context(), u.ID, *q.IsAdmin); errors.Is(err, store.ErrLastAdmin) {
			return errLastAdmin
		} else if err != nil {
			return err
		}
		s.revoked(r.Context(), revoke.Event{UserID: u.ID})
		s.audit(r, map[bool]string{true: evAdminGranted, false: evAdminRevoked}[*q.IsAdmin], u.ID, actor, u.Email)
	}
	u, err = s.adminTarget(r)
	if err != nil {
		return err
	}
	on, err := s.auth.TwoFactorOn(r.Context(), u.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, adminUserJSON{User: userJSON(u), TwoFactor: on, Disabled: u.Disabled, LastLoginAt: u.LastLoginAt})
	return nil
}

// adminResetTwoFactor turns a user's two-factor off (they lost their device).
func (s *Server) adminResetTwoFactor(w http.ResponseWriter, r *http.Request) error {
	u, err := s.adminTarget(r)
	if err != nil {
		return err
	}
	if err := s.auth.ResetTwoFactor(r.Context(), u.ID); errors.Is(err, auth.ErrNoTOTP) {
		return errConflict(err.Error())
	} else if err != nil {
		return err
	}
	s.audit(r, evTOTPReset, u.ID, principal(r).User.ID, u.Email)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// adminDeleteUser deletes a user. ?projects=delete deletes the projects they
// own (through the project delete path); ?projects=transfer&to=<user id>
// gives them to another user.
func (s *Server) adminDeleteUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.adminTarget(r)
	if err != nil {
		return err
	}
	if u.ID == principal(r).User.ID {
		return errBadRequest("you cannot delete your own account here")
	}
	var to string
	switch r.URL.Query().Get("projects") {
	case "delete":
	case "transfer":
		to = r.URL.Query().Get("to")
		if target, err := s.store.UserByID(r.Context(), to); err != nil || target.ID == u.ID {
			return errInvalid(map[string]string{"to": "must be another existing user"})
		}
	default:
		return errInvalid(map[string]string{"projects": "must be delete or transfer"})
	}
	owned, err := s.store.OwnedProjects(r.Context(), u.ID)
	if err != nil {
		return err
	}
	if to == "" {
		for _, id := range owned {
			if err := s.projects.Delete(context.WithoutCancel(r.Context()), id); err != nil {
				return err
			}
		}
	}
	if err := s.store.DeleteUser(r.Context(), u.ID, to, s.now()); errors.Is(err, store.ErrLastAdmin) {
		return errLastAdmin
	} else if err != nil {
		return err
	}
	detail := u.Email + ": projects deleted"
	if to != "" {
		detail = u.Email + ": projects transferred to " + to
	}
	s.revoked(r.Context(), revoke.Event{UserID: u.ID, End: true})
	if to != "" {
		s.revoked(r.Context(), revoke.Event{UserID: to}) // their roles changed
	}
	s.audit(r, evUserDeleted, u.ID, principal(r).User.ID, detail)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
