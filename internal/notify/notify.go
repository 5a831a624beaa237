// Package notify is E-Code's notification centre: each notification is
// kept for its user in the app (read and unread), and, when the operator
// names an SMTP server and the user wants that kind by email, also mailed.
// Other packages tell it through Notify (or a callback of its signature).
package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/smtp"
	"strings"
	"time"

	"ecode/internal/store"
)

// Kinds of notification.
const (
	QuotaWarning         = "quota_warning"
	DeploymentFailed     = "deployment_failed"
	DeploymentRolledBack = "deployment_rolled_back"
	ImportFinished       = "import_finished"
	Invitation           = "invitation"
	SecurityEvent        = "security_event"
	DomainCertificate    = "domain_certificate"
)

// Kinds lists every kind, in the order the settings page shows them.
var Kinds = []string{SecurityEvent, Invitation, QuotaWarning, DeploymentFailed, DeploymentRolledBack, ImportFinished, DomainCertificate}

// emailByDefault are the kinds mailed unless the user says otherwise.
var emailByDefault = map[string]bool{SecurityEvent: true, QuotaWarning: true, DeploymentFailed: true, DeploymentRolledBack: true}

// SMTP names the mail server; Addr empty means no email.
type SMTP struct {
	Addr     string // host:port
	From     string
	Username string
	Password string
}

// Service stores notifications and sends their emails.
type Service struct {
	store *store.Store
	smtp  SMTP
	log   *slog.Logger
	now   func() time.Time
	mail  chan mail // drained by Run
}

type mail struct {
	to, subject, body string
}

// New returns the service.
func New(st *store.Store, smtp SMTP, log *slog.Logger, now func() time.Time) *Service {
	return &Service{store: st, smtp: smtp, log: log, now: now, mail: make(chan mail, 256)}
}

// EmailEnabled tells whether the operator named an SMTP server.
func (s *Service) EmailEnabled() bool { return s.smtp.Addr != "" }

// Notify tells userID about something: it goes to the user's centre and,
// if wanted, is queued for email (sent by Run).
func (s *Service) Notify(ctx context.Context, userID, kind, title, body, link string) error {
	n := store.Notification{ID: newID(), UserID: userID, Kind: kind, Title: title, Body: body, Link: link, CreatedAt: s.now()}
	if err := s.store.AddNotification(ctx, n); err != nil {
		return err
	}
	if !s.EmailEnabled() {
		return nil
	}
	prefs, err := s.Prefs(ctx, userID)
	if err != nil || !prefs[kind] {
		return err
	}
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	select {
	case s.mail <- mail{to: u.Email, subject: title, body: body + linkLine(link)}:
	default:
		s.log.Warn("email queue full: notification not mailed", "user_id", userID, "kind", kind)
	}
	return nil
}

func linkLine(link string) string {
	if link == "" {
		return "\n"
	}
	return "\n\n" + link + "\n"
}

// Prefs returns, for every kind, whether it reaches the user by email.
func (s *Service) Prefs(ctx context.Context, userID string) (map[string]bool, error) {
	set, err := s.store.EmailPrefs(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, k := range Kinds {
		on, ok := set[k]
		if !ok {
			on = emailByDefault[k]
		}
		out[k] = on
	}
	return out, nil
}

// SetPref records the user's choice for one kind.
func (s *Service) SetPref(ctx context.Context, userID, kind string, email bool) error {
	if !IsKind(kind) {
		return fmt.Errorf("unknown notification kind %q", kind)
	}
	return s.store.SetEmailPref(ctx, userID, kind, email)
}

// IsKind tells whether k is a notification kind.
func IsKind(k string) bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// Run sends queued emails until ctx ends.
func (s *Service) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-s.mail:
			if err := s.send(m); err != nil {
				s.log.Warn("send notification email", "smtp", s.smtp.Addr, "err", err)
			}
		}
	}
}

func (s *Service) send(m mail) error {
	var auth smtp.Auth
	if s.smtp.Username != "" {
		host, _, _ := strings.Cut(s.smtp.Addr, ":")
		auth = smtp.PlainAuth("", s.smtp.Username, s.smtp.Password, host)
	}
	msg := "From: " + s.smtp.From + "\r\nTo: " + m.to + "\r\nSubject: " + headerSafe(m.subject) +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nDate: " + s.now().Format(time.RFC1123Z) +
		"\r\n\r\n" + strings.ReplaceAll(m.body, "\n", "\r\n")
	return smtp.SendMail(s.smtp.Addr, auth, s.smtp.From, []string{m.to}, []byte(msg))
}

// headerSafe keeps a header value on one line.
func headerSafe(v string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(v) }

func newID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}
