package api

import (
	"net/http"
	"time"

	"ecode/internal/notify"
	"ecode/internal/store"
)

type notificationJSON struct {
	ID     string     `json:"id"`
	Kind   string     `json:"kind"`
	Title  string     `json:"title"`
	Body   string     `json:"body"`
	Link   string     `json:"link"`
	At     time.Time  `json:"at"`
	ReadAt *time.Time `json:"read_at"`
}

// listNotifications answers the caller's notification centre: the newest
// 50 and the unread count.
func (s *Server) listNotifications(w http.ResponseWriter, r *http.Request) error {
	ns, unread, err := s.store.ListNotifications(r.Context(), principal(r).User.ID, 50)
	if err != nil {
		return err
	}
	items := make([]notificationJSON, 0, len(ns))
	for _, n := range ns {
		items = append(items, notificationJSON{ID: n.ID, Kind: n.Kind, Title: n.Title, Body: n.Body, Link: n.Link, At: n.CreatedAt, ReadAt: n.ReadAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"unread": unread, "items": items})
	return nil
}

type markReadRequest struct {
	ID string `json:"id"` // empty: all
}

func (q *markReadRequest) validate() map[string]string { return nil }

// markNotificationsRead marks one of the caller's notifications read, or all.
func (s *Server) markNotificationsRead(w http.ResponseWriter, r *http.Request) error {
	var q markReadRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	if err := s.store.MarkNotificationsRead(r.Context(), principal(r).User.ID, q.ID, s.now()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type notificationPrefsJSON struct {
	EmailEnabled bool            `json:"email_enabled"`
	Email        map[string]bool `json:"email"`
}

func (s *Server) notificationPrefs(w http.ResponseWriter, r *http.Request) error {
	prefs, err := s.notify.Prefs(r.Context(), principal(r).User.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, notificationPrefsJSON{EmailEnabled: s.notify.EmailEnabled(), Email: prefs})
	return nil
}

type prefsRequest struct {
	Email map[string]bool `json:"email"`
}

func (q *prefsRequest) validate() map[string]string {
	for k := range q.Email {
		if !notify.IsKind(k) {
			return map[string]string{"email": "unknown notification kind " + k}
		}
	}
	return nil
}

// putNotificationPrefs records which kinds reach the caller by email.
func (s *Server) putNotificationPrefs(w http.ResponseWriter, r *http.Request) error {
	var q prefsRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	uid := principal(r).User.ID
	for k, on := range q.Email {
		if err := s.notify.SetPref(r.Context(), uid, k, on); err != nil {
			return err
		}
	}
	return s.notificationPrefs(w, r)
}

// securityTitles are the notification titles of security events.
var securityTitles = map[string]string{
	evSignIn: "New sign-in to your account", evSignInFailed: "Failed sign-in to your account",
	evSecondFactorBad: "Wrong second factor entered", evRecoveryUsed: "A recovery code was used",
	evTOTPEnabled: "Two-factor authentication turned on", evTOTPDisabled: "Two-factor authentication turned off",
	evTOTPReset: "An admin reset your two-factor authentication", evPasskeyAdded: "Passkey added",
	evPasskeyRemoved: "Passkey deleted", evTokenCreated: "Access token created", evTokenRevoked: "Access token revoked",
	evSessionRevoked: "Session revoked", evPasswordChanged: "Your password was changed", evProfileChanged: "Your profile was changed",
	evMemberRole: "Your project role changed", evUserDisabled: "Your account was disabled", evUserEnabled: "Your account was enabled",
	evAdminGranted: "You are now an admin", evAdminRevoked: "You are no longer an admin",
}

// notifySecurity tells the account's owner about a security event.
func (s *Server) notifySecurity(r *http.Request, e store.SecurityEvent) {
	title, ok := securityTitles[e.Kind]
	if !ok || e.UserID == "" {
		return // user_deleted: nobody left to tell
	}
	body := e.Detail
	if e.IP != "" || e.UserAgent != "" {
		body += " (from " + e.IP + " " + e.UserAgent + ")"
	}
	if err := s.notify.Notify(r.Context(), e.UserID, notify.SecurityEvent, title, body, "/settings"); err != nil {
		s.log.Error("notify security event", "kind", e.Kind, "user_id", e.UserID, "request_id", requestID(r.Context()), "err", err)
	}
}

// notifyMemberAdded tells a user they were added to a project.
func (s *Server) notifyMemberAdded(r *http.Request, p store.Project, userID string, role store.Role) {
	by := principal(r).User
	title := "You were added to " + p.Name
	body := (by.Name + " (" + by.Email + ") added you as " + string(role) + ".")
	if err := s.notify.Notify(r.Context(), userID, notify.Invitation, title, body, "/p/"+p.ID); err != nil {
		s.log.Error("notify member added", "project_id", p.ID, "user_id", userID, "request_id", requestID(r.Context()), "err", err)
	}
}
