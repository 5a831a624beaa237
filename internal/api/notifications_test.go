package api_test

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"ecode/internal/config"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// mailSink is an SMTP server for the test: each message it receives (the
// recipient, then the raw message) goes to msgs.
type mailSink struct{ msgs chan string }

func (m *mailSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{sink: m}, nil }

type mailSession struct {
	sink *mailSink
	to   string
}

func (s *mailSession) Reset()                                    {}
func (s *mailSession) Logout() error                             { return nil }
func (s *mailSession) Mail(string, *smtp.MailOptions) error      { return nil }
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = to; return nil }
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.sink.msgs <- "To-Envelope: " + s.to + "\n" + string(b)
	return err
}

func startSMTP(t *testing.T) (string, chan string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink := &mailSink{msgs: make(chan string, 64)}
	srv := smtp.NewServer(sink)
	srv.Domain = "localhost"
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), sink.msgs
}

// nextMail waits for the next message (the server mails in the background).
func nextMail(t *testing.T, msgs chan string) string {
	t.Helper()
	select {
	case m := <-msgs:
		return m
	case <-time.After(20 * time.Second):
		t.Fatal("no email arrived")
		return ""
	}
}

// mailContaining reads messages until one contains all of want.
func mailContaining(t *testing.T, msgs chan string, want ...string) (string, []string) {
	t.Helper()
	var skipped []string
	for {
		m := nextMail(t, msgs)
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(m, w)
		}
		if ok {
			return m, skipped
		}
		skipped = append(skipped, m)
	}
}

type notifications struct {
	Unread int
	Items  []struct {
		ID, Kind, Title, Body, Link string
		ReadAt                      *time.Time `json:"read_at"`
	}
}

// TestSecurityEventNotifies: a security event reaches the user's in-app
// centre and the SMTP server the operator named; after the user opts out of
// that kind by email, it reaches the centre only. Being added to a project
// notifies too.
func TestSecurityEventNotifies(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		addr, msgs := startSMTP(t)
		srv := testutil.NewServer(t, st, testutil.ServerOptions{Config: func(c *config.Config) {
			c.SMTPAddr, c.SMTPFrom = addr, "ecode@example.test"
		}})
		alice, bob := srv.User(t, "alice"), srv.User(t, "bob")

		if _, err := alice.CreateToken(ctx, "before-optout"); err != nil {
			t.Fatal(err)
		}
		m, _ := mailContaining(t, msgs, "before-optout")
		if !strings.Contains(m, "To-Envelope: alice@example.test") || !strings.Contains(m, "Subject: Access token created") {
			t.Errorf("email:\n%s", m)
		}
		var n notifications
		if err := alice.Do(ctx, "GET", "/api/notifications", nil, "", &n); err != nil {
			t.Fatal(err)
		}
		if n.Unread < 1 || n.Items[0].Kind != "security_event" || n.Items[0].Title != "Access token created" {
			t.Fatalf("centre %+v", n)
		}
		if err := alice.Do(ctx, "POST", "/api/notifications/read", strings.NewReader(`{}`), "application/json", nil); err != nil {
			t.Fatal(err)
		}
		if err := alice.Do(ctx, "GET", "/api/notifications", nil, "", &n); err != nil || n.Unread != 0 {
			t.Fatalf("after marking all read: %+v %v", n, err)
		}

		// Opt out of security events by email.
		if err := alice.Do(ctx, "PUT", "/api/me/notification-prefs", strings.NewReader(`{"email":{"security_event":false}}`), "application/json", nil); err != nil {
			t.Fatal(err)
		}
		srv.Clock.Advance(time.Second)
		if _, err := alice.CreateToken(ctx, "after-optout"); err != nil {
			t.Fatal(err)
		}
		// Mail goes out in order: once bob's arrives, alice's would have.
		if _, err := bob.CreateToken(ctx, "bob-marker"); err != nil {
			t.Fatal(err)
		}
		_, skipped := mailContaining(t, msgs, "bob-marker")
		for _, s := range skipped {
			if strings.Contains(s, "after-optout") {
				t.Errorf("mailed after opting out:\n%s", s)
			}
		}
		if err := alice.Do(ctx, "GET", "/api/notifications", nil, "", &n); err != nil {
			t.Fatal(err)
		}
		if n.Unread != 1 || !strings.Contains(n.Items[0].Body, "after-optout") {
			t.Errorf("the opted-out event is still in the centre: %+v", n)
		}

		// Being added to a project notifies (an invitation).
		p, err := alice.CreateProject(ctx, "shared", "static")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := alice.AddMember(ctx, p.ID, "bob@example.test", "editor"); err != nil {
			t.Fatal(err)
		}
		var bn notifications
		if err := bob.Do(ctx, "GET", "/api/notifications", nil, "", &bn); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, it := range bn.Items {
			found = found || (it.Kind == "invitation" && it.Link == "/p/"+p.ID && strings.Contains(it.Title, "shared"))
		}
		if !found {
			t.Errorf("bob's centre: %+v", bn)
		}
	})
}
