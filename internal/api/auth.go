package api

import (
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"ecode/internal/auth"
	"ecode/internal/revoke"
	"ecode/internal/store"
)

// User is the public form of an account.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	IsAdmin   bool      `json:"is_admin"`
	CreatedAt time.Time `json:"created_at"`
}

func userJSON(u store.User) User {
	return User{ID: u.ID, Email: u.Email, Name: u.Name, IsAdmin: u.IsAdmin, CreatedAt: u.CreatedAt}
}

type signupRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
	Invite   string `json:"invite,omitempty"`
}

func (q *signupRequest) validate() map[string]string {
	f := map[string]string{}
	email, err := auth.NormalizeEmail(q.Email)
	if err != nil {
		f["email"] = err.Error()
	}
	q.Email = email
	q.Name = strings.TrimSpace(q.Name)
	if q.Name == "" || utf8.RuneCountInString(q.Name) > 100 {
		f["name"] = "must be 1 to 100 characters"
	}
	if p := auth.PasswordProblem(q.Password); p != "" {
		f["password"] = p
	}
	return f
}

func (s *Server) signup(w http.ResponseWriter, r *http.Request) error {
	var q signupRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	if ok, wait := s.auth.AllowSignup(clientIP(r)); !ok {
		return tooManyRequests(w, "rate_limited", "too many sign-ups from your address; try again later", wait)
	}
	if err := s.checkSignupAllowed(r, q.Invite); err != nil {
		return err
	}
	u, err := s.auth.SignupInvited(r.Context(), q.Email, q.Name, q.Password, q.Invite)
	switch {
	case errors.Is(err, auth.ErrEmailTaken):
		return errInvalid(map[string]string{"email": err.Error()})
	case errors.Is(err, auth.ErrBadInvite):
		return &Error{Status: http.StatusForbidden, Code: "invite_invalid", Message: err.Error()}
	case errors.Is(err, auth.ErrBusy):
		return errBusy(w)
	case err != nil:
		return err
	}
	if err := s.startSession(w, r, u); err != nil {
		return err
	}
	detail := "open sign-up"
	if q.Invite != "" {
		detail = "invitation"
	}
	s.audit(r, evSignUp, u.ID, u.ID, detail)
	writeJSON(w, http.StatusCreated, userJSON(u))
	return nil
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	TOTP     string `json:"totp,omitempty"`
}

func (q *loginRequest) validate() map[string]string {
	f := map[string]string{}
	q.Email = strings.ToLower(strings.TrimSpace(q.Email))
	if q.Email == "" {
		f["email"] = "required"
	}
	if q.Password == "" {
		f["password"] = "required"
	}
	return f
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var q loginRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	u, err := s.auth.Login(r.Context(), q.Email, q.Password, clientIP(r))
	switch {
	case errors.Is(err, auth.ErrRateLimited):
		wait := time.Minute
		if rl := (*auth.RateLimitError)(nil); errors.As(err, &rl) {
			wait = rl.Wait
		}
		return tooManyRequests(w, "rate_limited", "too many sign-in attempts; "+waitPhrase(wait), wait)
	case errors.Is(err, auth.ErrBadCredentials):
		s.auditFailedLogin(r, q.Email)
		return errUnauthenticated(err.Error())
	case errors.Is(err, auth.ErrBusy):
		return errBusy(w)
	case err != nil:
		return err
	}
	return s.completeLogin(w, r, u, q.TOTP)
}

// startSession ends any session the browser already had, then creates a new
// one (a new id at every sign-in, and again when the second factor
// completes) and sets its cookie. A pending session only proves the
// password and reaches nothing but the second-factor step.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u store.User, pending ...bool) error {
	if err := s.endBrowserSession(r); err != nil {
		return err
	}
	start := s.auth.StartSession
	if len(pending) > 0 && pending[0] {
		start = s.auth.StartPendingSession
	}
	token, _, err := start(r.Context(), u.ID, r.UserAgent(), clientIP(r))
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: s.sessionCookieName(), Value: token, Path: "/", HttpOnly: true, Secure: s.opts.SecureCookies,
		SameSite: http.SameSiteLaxMode, MaxAge: int(s.opts.SessionMax.Seconds()),
	})
	return nil
}

// endBrowserSession ends the session of the browser's cookie, if any, and
// the live requests that depended on it.
func (s *Server) endBrowserSession(r *http.Request) error {
	_, err := s.endBrowserSessionOf(r)
	return err
}

// endBrowserSessionOf is endBrowserSession that also says whose session
// it was (empty when there was none or it had already ended).
func (s *Server) endBrowserSessionOf(r *http.Request) (userID string, err error) {
	t, ok := s.sessionToken(r)
	if !ok {
		return "", nil
	}
	p, perr := s.auth.SessionUser(r.Context(), t)
	if err := s.auth.EndSession(r.Context(), t); err != nil {
		return "", err
	}
	if perr != nil {
		return "", nil
	}
	s.revoked(r.Context(), revoke.Event{SessionID: p.SessionID, End: true})
	return p.User.ID, nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	uid, err := s.endBrowserSessionOf(r)
	if err != nil {
		return err
	}
	if uid != "" {
		s.audit(r, evSignOut, uid, uid, "")
	}
	http.SetCookie(w, &http.Cookie{Name: s.sessionCookieName(), Value: "", Path: "/", HttpOnly: true,
		Secure: s.opts.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type devLoginRequest struct {
	Email string `json:"email"`
}

func (q *devLoginRequest) validate() map[string]string {
	email, err := auth.NormalizeEmail(q.Email)
	if err != nil {
		return map[string]string{"email": err.Error()}
	}
	q.Email = email
	return nil
}

// devLogin signs in (creating the account if needed) without a password.
// It exists only when the operator passed --dev-login, which the
// configuration refuses unless the server listens on loopback.
func (s *Server) devLogin(w http.ResponseWriter, r *http.Request) error {
	if !s.opts.DevLogin {
		return errNotFound("page")
	}
	var q devLoginRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	u, err := s.store.UserByEmail(r.Context(), q.Email)
	if errors.Is(err, store.ErrNotFound) {
		token, _ := auth.NewToken("") // an unguessable password nobody knows
		name, _, _ := strings.Cut(q.Email, "@")
		u, err = s.auth.Signup(r.Context(), q.Email, name, token)
	}
	if err != nil {
		return err
	}
	if err := s.startSession(w, r, u); err != nil {
		return err
	}
	s.audit(r, evSignIn, u.ID, u.ID, "dev login")
	writeJSON(w, http.StatusOK, userJSON(u))
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, userJSON(principal(r).User))
	return nil
}
