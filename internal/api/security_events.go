package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"ecode/internal/auth"
	"ecode/internal/store"
)

// Kinds of security events.
const (
	evSignUp          = "sign_up"
	evSignIn          = "sign_in"
	evSignOut         = "sign_out"
	evSignInFailed    = "sign_in_failed"
	evSecondFactorBad = "second_factor_failed"
	evRecoveryUsed    = "recovery_code_used"
	evTOTPEnabled     = "totp_enabled"
	evTOTPDisabled    = "totp_disabled"
	evTOTPReset       = "totp_reset"
	evPasskeyAdded    = "passkey_added"
	evPasskeyRemoved  = "passkey_removed"
	evTokenCreated    = "token_created"
	evTokenRevoked    = "token_revoked"
	evSessionRevoked  = "session_revoked"
	evPasswordChanged = "password_changed"
	evProfileChanged  = "profile_changed"
	evMemberRole      = "member_role_changed"
	evUserDisabled    = "user_disabled"
	evUserEnabled     = "user_enabled"
	evAdminGranted    = "admin_granted"
	evAdminRevoked    = "admin_revoked"
	evUserDeleted     = "user_deleted"
)

// audit appends a security event about userID done by actorID (empty: no
// one signed in) from this request. A failure to record is logged: the
// action itself has already happened.
func (s *Server) audit(r *http.Request, kind, userID, actorID, detail string) {
	e := store.SecurityEvent{ID: auth.NewID(), UserID: userID, ActorID: actorID, Kind: kind, Detail: detail,
		IP: clientIP(r), UserAgent: summarizeUserAgent(r.UserAgent()), CreatedAt: s.now()}
	if err := s.store.AddSecurityEvent(r.Context(), e); err != nil {
		s.log.Error("record security event", "kind", kind, "user_id", userID, "request_id", requestID(r.Context()), "err", err)
	}
	s.notifySecurity(r, e)
}

// auditSelf records an event the signed-in caller did to their own account.
func (s *Server) auditSelf(r *http.Request, kind, detail string) {
	id := principal(r).User.ID
	s.audit(r, kind, id, id, detail)
}

// auditFailedLogin records a wrong password against the account it names
// (nothing is recorded for unknown emails: the log is per account).
func (s *Server) auditFailedLogin(r *http.Request, email string) {
	u, err := s.store.UserByEmail(r.Context(), email)
	if err == nil {
		s.audit(r, evSignInFailed, u.ID, "", "wrong password")
	}
}

// summarizeUserAgent reduces a User-Agent header to "Browser on OS".
func summarizeUserAgent(ua string) string {
	if ua == "" {
		return ""
	}
	browser := "other client"
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"Chromium/", "Chromium"},
		{"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"}, {"Go-http-client", "Go client"}, {"node", "Node"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	for _, o := range []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iOS"}, {"Mac OS X", "macOS"},
		{"Windows", "Windows"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			return browser + " on " + o.name
		}
	}
	return browser
}

type securityEventJSON struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	ActorID   string    `json:"actor_id"`
	Kind      string    `json:"kind"`
	Detail    string    `json:"detail"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	At        time.Time `json:"at"`
}

// listSecurityEvents answers the events of userID (empty: everyone's),
// newest first; ?before=<RFC 3339 time> pages back, ?limit= (at most 200).
func (s *Server) listSecurityEvents(w http.ResponseWriter, r *http.Request, userID string) error {
	var before time.Time
	if v := r.URL.Query().Get("before"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return errInvalid(map[string]string{"before": "must be an RFC 3339 time"})
		}
		before = t
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return errInvalid(map[string]string{"limit": "must be 1 to 200"})
		}
		limit = n
	}
	es, err := s.store.ListSecurityEvents(r.Context(), userID, before, limit)
	if err != nil {
		return err
	}
	out := make([]securityEventJSON, 0, len(es))
	for _, e := range es {
		out = append(out, securityEventJSON{ID: e.ID, UserID: e.UserID, ActorID: e.ActorID, Kind: e.Kind, Detail: e.Detail,
			IP: e.IP, UserAgent: e.UserAgent, At: e.CreatedAt})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) mySecurityEvents(w http.ResponseWriter, r *http.Request) error {
	return s.listSecurityEvents(w, r, principal(r).User.ID)
}

// adminSecurityEvents answers everyone's events, or one user's with ?user=.
func (s *Server) adminSecurityEvents(w http.ResponseWriter, r *http.Request) error {
	return s.listSecurityEvents(w, r, r.URL.Query().Get("user"))
}
