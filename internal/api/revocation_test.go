package api_test

import (
	"context"
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
func TestRevocationEndsConnections(t *testing.T) {
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite))
	testutil.RequireSandbox(t, testutil.NewSandbox(t))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	owner := srv.User(t, "owner")
	p, err := owner.CreateProject(ctx, "shared", "static")
	if err != nil {
		t.Fatal(err)
	}
	member := func(name, role string) *client.Client {
		c := srv.User(t, name)
		if err := owner.Do(ctx, "POST", "/api/projects/"+p.ID+"/members", strings.NewReader(`{"email":"`+name+`@example.test","role":"`+role+`"}`), "application/json", nil); err != nil {
			t.Fatal(err)
		}
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

	// A revoked token ends the terminal it opened.
	alice := member("alice", "editor")
	tok, err := alice.CreateToken(ctx, "term")
	if err != nil {
		t.Fatal(err)
	}
	var term struct{ ID string }
	if err := alice.Do(ctx, "POST", "/api/projects/"+p.ID+"/terminals", strings.NewReader(`{}`), "application/json", &term); err != nil {
		t.Fatal(err)
	}
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/api/projects/"+p.ID+"/terminals/"+term.ID+"/ws?access_token="+tok.Token, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	if err := alice.Do(ctx, "DELETE", "/api/tokens/"+tok.ID, nil, "", nil); err != nil {
		t.Fatal(err)
	}
	wantRevoked("terminal after its token was revoked", conn)

	// Removing a member ends their terminal.
	bob := member("bob", "editor")
	conn = terminalSocket(t, ctx, srv, bob, p.ID)
	bobID := mustMe(t, bob)
	if err := owner.Do(ctx, "DELETE", "/api/projects/"+p.ID+"/members/"+bobID, nil, "", nil); err != nil {
		t.Fatal(err)
	}
	wantRevoked("terminal of a removed member", conn)

	// Lowering a role ends the collaboration socket opened as an editor.
	carol := member("carol", "editor")
	conn = dialProject(t, ctx, srv, carol, p.ID, "/collab/index.html")
	if err := owner.Do(ctx, "PATCH", "/api/projects/"+p.ID+"/members/"+mustMe(t, carol), strings.NewReader(`{"role":"viewer"}`), "application/json", nil); err != nil {
		t.Fatal(err)
	}
	wantRevoked("collaboration socket after the role was lowered", conn)

	// A removed viewer's run-output stream ends.
	dave := member("dave", "viewer")
	stream, err := dave.Raw(ctx, "GET", "/api/projects/"+p.ID+"/run/output", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if err := owner.Do(ctx, "DELETE", "/api/projects/"+p.ID+"/members/"+mustMe(t, dave), nil, "", nil); err != nil {
		t.Fatal(err)
	}
	wctx, stop := within()
	defer stop()
	if err := readToEnd(wctx, stream.Body); err != nil {
		t.Errorf("run-output stream of a removed viewer: %v", err)
	}

	// Revoking a session (from another one) ends the streams it opened.
	erin := member("erin", "viewer")
	stream, err = erin.Raw(ctx, "GET", "/api/projects/"+p.ID+"/tree/events", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	other := srv.Client()
	if _, err := other.Login(ctx, "erin@example.test", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	var sessions []struct {
		ID      string
		Current bool
	}
	if err := other.Do(ctx, "GET", "/api/sessions", nil, "", &sessions); err != nil {
		t.Fatal(err)
	}
	revoked := 0
	for _, s := range sessions {
		if !s.Current {
			if err := other.Do(ctx, "DELETE", "/api/sessions/"+s.ID, nil, "", nil); err != nil {
				t.Fatal(err)
			}
			revoked++
		}
	}
	if revoked != 1 {
		t.Fatalf("revoked %d sessions, want erin's first one", revoked)
	}
	wctx2, stop2 := within()
	defer stop2()
	if err := readToEnd(wctx2, stream.Body); err != nil {
		t.Errorf("tree events of a revoked session: %v", err)
	}
}
