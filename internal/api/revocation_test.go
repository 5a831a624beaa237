package api_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"ecode/internal/client"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// Revoking what a connection depends on ends it within a second: a token
// (terminal opened with ?access_token=), a membership (terminal, run-output
// stream of a viewer), a role change (collaboration socket), a session.
// Every wait is bounded: a request by the test's minute, the end of a
// connection by a second; a revocation that ends nothing fails the test.
func TestRevocationEndsConnections(t *testing.T) {
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite))
	testutil.RequireSandbox(t, testutil.NewSandbox(t))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	must := func(what string, err error) {
		t.Helper()
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: no answer within the test's minute", what)
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	me := func(c *client.Client) string {
		t.Helper()
		u, err := c.Me(ctx)
		must("who am I", err)
		return u.ID
	}
	owner := srv.User(t, "owner")
	p, err := owner.CreateProject(ctx, "shared", "static")
	must("create the project", err)
	member := func(name, role string) *client.Client {
		c := srv.User(t, name)
		must("add "+name, owner.Do(ctx, "POST", "/api/projects/"+p.ID+"/members", strings.NewReader(`{"email":"`+name+`@example.test","role":"`+role+`"}`), "application/json", nil))
		return c
	}
	within := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, time.Second) }
	wantRevoked := func(what string, conn *websocket.Conn) {
		t.Helper()
		wctx, stop := within()
		defer stop()
		if code := closeStatus(wctx, conn); code != 4403 {
			t.Errorf("%s: closed with %d, want 4403 (access revoked) within a second", what, code)
		}
	}
	wantEnded := func(what string, body io.ReadCloser) {
		t.Helper()
		wctx, stop := within()
		defer stop()
		if err := readToEnd(wctx, body); errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: still open a second after the revocation", what)
		} else if err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}

	// A revoked token ends the terminal it opened.
	alice := member("alice", "editor")
	tok, err := alice.CreateToken(ctx, "term")
	must("create alice's token", err)
	var term struct{ ID string }
	must("open alice's terminal", alice.Do(ctx, "POST", "/api/projects/"+p.ID+"/terminals", strings.NewReader(`{}`), "application/json", &term))
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/api/projects/"+p.ID+"/terminals/"+term.ID+"/ws?access_token="+tok.Token, nil)
	must("attach to alice's terminal", err)
	defer conn.CloseNow()
	must("revoke alice's token", alice.Do(ctx, "DELETE", "/api/tokens/"+tok.ID, nil, "", nil))
	wantRevoked("terminal after its token was revoked", conn)

	// Removing a member ends their terminal.
	bob := member("bob", "editor")
	conn = terminalSocket(t, ctx, srv, bob, p.ID)
	must("remove bob", owner.Do(ctx, "DELETE", "/api/projects/"+p.ID+"/members/"+me(bob), nil, "", nil))
	wantRevoked("terminal of a removed member", conn)

	// Lowering a role ends the collaboration socket opened as an editor.
	carol := member("carol", "editor")
	conn = dialProject(t, ctx, srv, carol, p.ID, "/collab/index.html")
	must("make carol a viewer", owner.Do(ctx, "PATCH", "/api/projects/"+p.ID+"/members/"+me(carol), strings.NewReader(`{"role":"viewer"}`), "application/json", nil))
	wantRevoked("collaboration socket after the role was lowered", conn)

	// A removed viewer's run-output stream ends.
	dave := member("dave", "viewer")
	stream, err := dave.Raw(ctx, "GET", "/api/projects/"+p.ID+"/run/output", nil, "")
	must("open dave's run output", err)
	defer stream.Body.Close()
	must("remove dave", owner.Do(ctx, "DELETE", "/api/projects/"+p.ID+"/members/"+me(dave), nil, "", nil))
	wantEnded("run-output stream of a removed viewer", stream.Body)

	// Revoking a session (from another one) ends the streams it opened.
	erin := member("erin", "viewer")
	stream, err = erin.Raw(ctx, "GET", "/api/projects/"+p.ID+"/tree/events", nil, "")
	must("open erin's tree events", err)
	defer stream.Body.Close()
	other := srv.Client()
	_, err = other.Login(ctx, "erin@example.test", "correct horse battery")
	must("log erin in again", err)
	var sessions []struct {
		ID      string
		Current bool
	}
	must("list erin's sessions", other.Do(ctx, "GET", "/api/sessions", nil, "", &sessions))
	revoked := 0
	for _, s := range sessions {
		if !s.Current {
			must("revoke erin's first session", other.Do(ctx, "DELETE", "/api/sessions/"+s.ID, nil, "", nil))
			revoked++
		}
	}
	if revoked != 1 {
		t.Fatalf("revoked %d sessions, want erin's first one", revoked)
	}
	wantEnded("tree events of a revoked session", stream.Body)
}
