package api

import (
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"ecode/internal/auth"
	"ecode/internal/revoke"
	"ecode/internal/store"
)

type passwordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

func (q *passwordRequest) validate() map[string]string {
	f := map[string]string{}
	if q.CurrentPassword == "" {
		f["current_password"] = "required"
	}
	if n := utf8.RuneCountInString(q.NewPassword); n < 8 || len(q.NewPassword) > 256 {
		f["new_password"] = "must be at least 8 characters (and at most 256 bytes)"
	}
	return f
}

// changePassword needs the current password; it ends every other session
// of the user and keeps this one.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	var q passwordRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	p := principal(r)
	sessions, err := s.store.ListSessions(r.Context(), p.User.ID)
	if err != nil {
		return err
	}
	err = s.auth.ChangePassword(r.Context(), p.User, q.CurrentPassword, q.NewPassword, p.SessionID)
	if errors.Is(err, auth.ErrBadCredentials) {
		return errInvalid(map[string]string{"current_password": "wrong password"})
	}
	if err != nil {
		return err
	}
	for _, x := range sessions {
		if x.ID != p.SessionID {
			s.revoked(r.Context(), revoke.Event{SessionID: x.ID, End: true}) // what the ended sessions had open
		}
	}
	s.auditSelf(r, evPasswordChanged, "other sessions ended")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type profileRequest struct {
	Name  *string `json:"name"`
	Email *string `json:"email"`
}

func (q *profileRequest) validate() map[string]string {
	f := map[string]string{}
	if q.Name != nil {
		*q.Name = strings.TrimSpace(*q.Name)
		if *q.Name == "" || utf8.RuneCountInString(*q.Name) > 100 {
			f["name"] = "must be 1 to 100 characters"
		}
	}
	if q.Email != nil {
		email, err := auth.NormalizeEmail(*q.Email)
		if err != nil {
			f["email"] = err.Error()
		}
		*q.Email = email
	}
	return f
}

// updateProfile changes the caller's name and email (which must be free).
func (s *Server) updateProfile(w http.ResponseWriter, r *http.Request) error {
	var q profileRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	u := principal(r).User
	var changed []string
	if q.Name != nil && *q.Name != u.Name {
		u.Name, changed = *q.Name, append(changed, "name")
	}
	if q.Email != nil && *q.Email != u.Email {
		changed = append(changed, "email "+u.Email+" → "+*q.Email)
		u.Email = *q.Email
	}
	if len(changed) > 0 {
		err := s.store.UpdateProfile(r.Context(), u.ID, u.Name, u.Email)
		if errors.Is(err, store.ErrConflict) {
			return errInvalid(map[string]string{"email": auth.ErrEmailTaken.Error()})
		}
		if err != nil {
			return err
		}
		s.revoked(r.Context(), revoke.Event{UserID: u.ID})
		s.auditSelf(r, evProfileChanged, strings.Join(changed, ", "))
	}
	writeJSON(w, http.StatusOK, userJSON(u))
	return nil
}
