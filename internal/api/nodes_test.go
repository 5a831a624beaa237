package api_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"ecode/internal/app"
	"ecode/internal/client"
	"ecode/internal/config"
	"ecode/internal/store"
	"ecode/internal/testutil"
	"ecode/internal/testutil/testdb"
)

// twoNodes builds two servers on one store and one Redis, as two E-Code
// nodes behind a load balancer, with their revocation relays subscribed.
func twoNodes(t *testing.T, st *store.Store) (a, b *testutil.Server) {
	t.Helper()
	url := testdb.RedisURL(t)
	opts := testutil.ServerOptions{Config: func(c *config.Config) { c.RedisURL = url }}
	a, b = testutil.NewServer(t, st, opts), testutil.NewServer(t, st, opts)
	<-a.Revoke.Subscribed()
	<-b.Revoke.Subscribed()
	return a, b
}

// on returns a client for node n acting as c (same cookies or token).
func on(n *testutil.Server, c *client.Client) *client.Client {
	return &client.Client{BaseURL: n.URL, Token: c.Token, HTTP: c.HTTP}
}

// A revocation on node A is refused on node B by the next request, though B
// had the credential and the membership cached: a token, a session, a
// membership, a role, a disabled account.
func TestRevocationOnOneNodeHoldsOnAnother(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		a, b := twoNodes(t, st)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		admin := a.User(t, "admin") // the first account is the admin
		p, err := admin.CreateProject(ctx, "shared", "static")
		if err != nil {
			t.Fatal(err)
		}
		member := func(name, role string) *client.Client {
			c := a.User(t, name)
			if _, err := admin.AddMember(ctx, p.ID, name+"@example.test", role); err != nil {
				t.Fatal(err)
			}
			return c
		}
		// Each node has its own data dir here: what is asked for needs no files.
		read := func(c *client.Client) error { _, err := c.Project(ctx, p.ID); return err }
		editorOnly := func(c *client.Client) error {
			return c.Do(ctx, "GET", "/api/projects/"+p.ID+"/terminals", nil, "", nil)
		}
		warm := func(what string, op func(*client.Client) error, c *client.Client) {
			t.Helper()
			for range 3 { // the first fills the caches, the others are answered from them
				if err := op(c); err != nil {
					t.Fatalf("%s on node B before the revocation: %v", what, err)
				}
			}
		}
		refused := func(what string, err error, status int) {
			t.Helper()
			var e *client.Error
			if !errors.As(err, &e) || e.Status != status {
				t.Errorf("%s: got %v, want %d", what, err, status)
			}
		}

		// A token revoked on A.
		alice := member("alice", "viewer")
		tok, err := alice.CreateToken(ctx, "ci")
		if err != nil {
			t.Fatal(err)
		}
		aliceB := client.New(b.URL)
		aliceB.Token = tok.Token
		warm("read with a token", read, aliceB)
		if err := alice.Do(ctx, "DELETE", "/api/tokens/"+tok.ID, nil, "", nil); err != nil {
			t.Fatal(err)
		}
		refused("token revoked on A, used on B", read(aliceB), http.StatusUnauthorized)

		// A session ended on A (sign-out).
		bob := member("bob", "viewer")
		warm("read with a session", read, on(b, bob))
		keep := on(b, bob) // shares the cookie jar, so sign-out clears it: keep the cookie
		cookies := bob.HTTP.Jar.Cookies(mustURL(a.URL))
		if err := bob.Logout(ctx); err != nil {
			t.Fatal(err)
		}
		keep.HTTP.Jar.SetCookies(mustURL(b.URL), cookies)
		refused("session signed out on A, used on B", read(keep), http.StatusUnauthorized)

		// A member removed on A.
		carol := member("carol", "editor")
		warm("read as a member", read, on(b, carol))
		if err := admin.Do(ctx, "DELETE", "/api/projects/"+p.ID+"/members/"+mustMe(t, carol), nil, "", nil); err != nil {
			t.Fatal(err)
		}
		refused("member removed on A, reading on B", read(on(b, carol)), http.StatusNotFound)

		// A role lowered on A.
		dave := member("dave", "editor")
		warm("an editor-only request", editorOnly, on(b, dave))
		if err := admin.Do(ctx, "PATCH", "/api/projects/"+p.ID+"/members/"+mustMe(t, dave), strings.NewReader(`{"role":"viewer"}`), "application/json", nil); err != nil {
			t.Fatal(err)
		}
		refused("role lowered on A, editor-only request on B", editorOnly(on(b, dave)), http.StatusForbidden)

		// An account disabled on A.
		erin := member("erin", "editor")
		warm("read before being disabled", read, on(b, erin))
		if err := admin.Do(ctx, "PATCH", "/api/admin/users/"+mustMe(t, erin), strings.NewReader(`{"disabled":true}`), "application/json", nil); err != nil {
			t.Fatal(err)
		}
		refused("account disabled on A, reading on B", read(on(b, erin)), http.StatusUnauthorized)
	})
}

// While Redis is unreachable a revocation on node A does not reach node B:
// B re-checks its open connections against the store on each tick of its
// re-check (--live-recheck) and closes those no longer authorized, as the
// revocation would have (4403; 4410 for a project deleted meanwhile). While
// Redis answers, the re-check does not run.
func TestRevocationDuringRedisOutageEndsConnectionsOnEveryNode(t *testing.T) {
	testutil.RequireSandbox(t, testutil.NewSandbox(t))
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		relay := testdb.NewRedisRelay(t)
		tick := make(chan time.Time)
		passes := make(chan [2]int, 16)
		opts := testutil.ServerOptions{Config: func(c *config.Config) { c.RedisURL = relay.URL }}
		a := testutil.NewServer(t, st, opts)
		opts.Built = func(s *app.Server) {
			s.RecheckTick = tick
			s.OnRecheck = func(keys, ended int) {
				select {
				case passes <- [2]int{keys, ended}:
				default:
				}
			}
		}
		b := testutil.NewServer(t, st, opts)
		<-a.Revoke.Subscribed()
		<-b.Revoke.Subscribed()

		admin := a.User(t, "admin")
		p, err := on(b, admin).CreateProject(ctx, "shared", "static") // its files on B
		if err != nil {
			t.Fatal(err)
		}
		carol, bob, dave := a.User(t, "carol"), a.User(t, "bob"), a.User(t, "dave")
		for _, name := range []string{"carol", "bob", "dave"} {
			if _, err := admin.AddMember(ctx, p.ID, name+"@example.test", "editor"); err != nil {
				t.Fatal(err)
			}
		}
		doomed, err := on(b, admin).CreateProject(ctx, "doomed", "static")
		if err != nil {
			t.Fatal(err)
		}
		doomedTerm := terminalSocket(t, ctx, b, on(b, admin), doomed.ID)
		term := terminalSocket(t, ctx, b, on(b, carol), p.ID)    // a token of carol's
		daveTerm := terminalSocket(t, ctx, b, on(b, dave), p.ID) // opened as an editor
		stream, err := on(b, bob).Raw(ctx, "GET", "/api/projects/"+p.ID+"/tree/events", nil, "")
		if err != nil {
			t.Fatal(err)
		}
		defer stream.Body.Close()

		select {
		case tick <- time.Now():
			t.Fatal("node B re-checked its connections while Redis answered")
		default:
		}

		relay.Cut()
		carolID := mustMe(t, carol)
		if err := admin.Do(ctx, "DELETE", "/api/projects/"+p.ID+"/members/"+carolID, nil, "", nil); err != nil {
			t.Fatal(err)
		}
		if err := admin.Do(ctx, "PATCH", "/api/projects/"+p.ID+"/members/"+mustMe(t, dave), strings.NewReader(`{"role":"viewer"}`), "application/json", nil); err != nil {
			t.Fatal(err)
		}
		if err := bob.Logout(ctx); err != nil { // on A
			t.Fatal(err)
		}
		if err := admin.Do(ctx, "DELETE", "/api/projects/"+doomed.ID, nil, "", nil); err != nil {
			t.Fatal(err)
		}
		select {
		case tick <- time.Now(): // taken once B has noticed the outage
		case <-ctx.Done():
			t.Fatal("node B never re-checked its connections while Redis was unreachable")
		}
		within := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, 10*time.Second) }
		wctx, stop := within()
		defer stop()
		if code := closeStatus(wctx, term); code != 4403 {
			t.Errorf("terminal on B of a member removed on A during the outage: closed with %d, want 4403", code)
		}
		wctx, stop = within()
		defer stop()
		if code := closeStatus(wctx, daveTerm); code != 4403 {
			t.Errorf("terminal on B of an editor made viewer on A during the outage: closed with %d, want 4403", code)
		}
		wctx, stop = within()
		defer stop()
		if code := closeStatus(wctx, doomedTerm); code != 4410 {
			t.Errorf("terminal on B of a project deleted on A during the outage: closed with %d, want 4410", code)
		}
		wctx, stop = within()
		defer stop()
		if err := readToEnd(wctx, stream.Body); err != nil {
			t.Errorf("event stream on B of a session signed out on A during the outage: %v", err)
		}
		for pass := range passes { // the one that ended them (one before may have ended none)
			if pass[1] > 0 {
				if pass[1] < 4 {
					t.Errorf("the re-check checked %d keys and ended %d requests, want the 4 ended", pass[0], pass[1])
				}
				break
			}
		}
		rec := httptest.NewRecorder()
		b.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		for _, want := range []string{`ecode_live_recheck_ended_total{cause="project_deleted"} 1`, `ecode_live_recheck_ended_total{cause="revoked"} 3`} {
			if !strings.Contains(rec.Body.String(), want+"\n") {
				t.Errorf("node B's /metrics lacks %q", want)
			}
		}
	})
}
