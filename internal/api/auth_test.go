package api_test

import (
	"context"
	"ecode/internal/config"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"ecode/internal/client"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// wantStatus fails unless err is a client error with the given status.
func wantStatus(t *testing.T, err error, status int) *client.Error {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %v, want HTTP %d", err, status)
	}
	if e.Status != status {
		t.Fatalf("got HTTP %d (%s: %s), want %d", e.Status, e.Code, e.Message, status)
	}
	return e
}

func TestSignupLoginLogout(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		srv := testutil.NewServer(t, st)
		c := srv.Client()
		u, err := c.Signup(ctx, "Ada@Example.test", "correct horse battery", "Ada")
		if err != nil {
			t.Fatal(err)
		}
		if !u.IsAdmin || u.Email != "ada@example.test" {
			t.Fatalf("first user = %+v, want admin with normalised email", u)
		}
		me, err := c.Me(ctx)
		if err != nil || me.ID != u.ID {
			t.Fatalf("Me = %+v, %v", me, err)
		}
		second := srv.User(t, "bob")
		if b, _ := second.Me(ctx); b.IsAdmin {
			t.Error("second user is admin")
		}
		if err := c.Logout(ctx); err != nil {
			t.Fatal(err)
		}
		_, err = c.Me(ctx)
		wantStatus(t, err, http.StatusUnauthorized)

		_, err = c.Login(ctx, "ada@example.test", "wrong password")
		wantStatus(t, err, http.StatusUnauthorized)
		_, err = c.Login(ctx, "nobody@example.test", "whatever1")
		wantStatus(t, err, http.StatusUnauthorized)
		if _, err := c.Login(ctx, "ADA@example.test", "correct horse battery"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Me(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSignupValidation(t *testing.T) {
	ctx := context.Background()
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite))
	c := srv.Client()
	_, err := c.Signup(ctx, "not-an-email", "short", "")
	e := wantStatus(t, err, http.StatusBadRequest)
	for _, f := range []string{"email", "password", "name"} {
		if e.Fields[f] == "" {
			t.Errorf("no field error for %s: %+v", f, e.Fields)
		}
	}
	srv.User(t, "ada")
	_, err = c.Signup(ctx, "ada@example.test", "another password", "Ada 2")
	e = wantStatus(t, err, http.StatusBadRequest)
	if e.Fields["email"] == "" {
		t.Errorf("taken email: %+v", e)
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite))
	resp, err := http.Post(srv.URL+"/api/auth/signup", "application/json",
		strings.NewReader(`{"email":"a@b.test","password":"correct horse battery","name":"A"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies = %v", cookies)
	}
	ck := cookies[0]
	if ck.Name != "ecode_session" || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || !strings.HasPrefix(ck.Value, "ecs_") {
		t.Errorf("cookie = %+v", ck)
	}
}

func TestSessionsListAndRevoke(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		srv := testutil.NewServer(t, st)
		laptop := srv.User(t, "ada")
		phone := srv.Client()
		if _, err := phone.Login(ctx, "ada@example.test", "correct horse battery"); err != nil {
			t.Fatal(err)
		}
		var sessions []struct {
			ID      string
			Current bool
		}
		if err := laptop.Do(ctx, "GET", "/api/sessions", nil, "", &sessions); err != nil {
			t.Fatal(err)
		}
		if len(sessions) != 2 {
			t.Fatalf("sessions = %+v", sessions)
		}
		var other string
		for _, s := range sessions {
			if !s.Current {
				other = s.ID
			}
		}
		mallory := srv.User(t, "mallory")
		err := mallory.Do(ctx, "DELETE", "/api/sessions/"+other, nil, "", nil)
		wantStatus(t, err, http.StatusNotFound)
		if err := laptop.Do(ctx, "DELETE", "/api/sessions/"+other, nil, "", nil); err != nil {
			t.Fatal(err)
		}
		_, err = phone.Me(ctx)
		wantStatus(t, err, http.StatusUnauthorized)
		if _, err := laptop.Me(ctx); err != nil {
			t.Fatalf("revoking the other session signed out this one: %v", err)
		}
	})
}

func TestSessionTimeouts(t *testing.T) {
	ctx := context.Background()
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite))
	c := srv.User(t, "ada")
	// Activity keeps an idle session alive...
	for range 4 {
		srv.Clock.Advance(48 * time.Hour)
		if _, err := c.Me(ctx); err != nil {
			t.Fatalf("active session expired early: %v", err)
		}
	}
	// ...but not past 72 hours of idleness,
	srv.Clock.Advance(73 * time.Hour)
	_, err := c.Me(ctx)
	wantStatus(t, err, http.StatusUnauthorized)

	// and never past the absolute limit (30 days).
	c2 := srv.Client()
	if _, err := c2.Login(ctx, "ada@example.test", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	for range 16 {
		srv.Clock.Advance(47 * time.Hour)
		c2.Me(ctx)
	}
	_, err = c2.Me(ctx)
	wantStatus(t, err, http.StatusUnauthorized)
}

func TestLoginRateLimit(t *testing.T) {
	ctx := context.Background()
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite))
	srv.User(t, "ada")
	c := srv.Client()
	var last error
	for range 12 {
		_, last = c.Login(ctx, "ada@example.test", "wrong password")
	}
	wantStatus(t, last, http.StatusTooManyRequests)
	// Even the right password is refused until time passes.
	_, err := c.Login(ctx, "ada@example.test", "correct horse battery")
	wantStatus(t, err, http.StatusTooManyRequests)
	srv.Clock.Advance(time.Minute)
	if _, err := c.Login(ctx, "ada@example.test", "correct horse battery"); err != nil {
		t.Fatalf("login after the wait: %v", err)
	}
}

func TestPersonalAccessTokens(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		srv := testutil.NewServer(t, st)
		c := srv.User(t, "ada")
		tok, err := c.CreateToken(ctx, "ci")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tok.Token, "ecp_") {
			t.Fatalf("token = %q", tok.Token)
		}
		bot := srv.Client()
		bot.Token = tok.Token
		me, err := bot.Me(ctx)
		if err != nil || me.Email != "ada@example.test" {
			t.Fatalf("bearer Me = %+v, %v", me, err)
		}
		var list []map[string]any
		if err := c.Do(ctx, "GET", "/api/tokens", nil, "", &list); err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0]["token"] != nil || list[0]["last_used_at"] == nil {
			t.Fatalf("token list = %+v (must not show the secret; must show last use)", list)
		}
		if err := c.Do(ctx, "DELETE", "/api/tokens/"+tok.ID, nil, "", nil); err != nil {
			t.Fatal(err)
		}
		_, err = bot.Me(ctx)
		wantStatus(t, err, http.StatusUnauthorized)

		bad := srv.Client()
		bad.Token = "ecp_forged"
		_, err = bad.Me(ctx)
		wantStatus(t, err, http.StatusUnauthorized)
	})
}

func TestCrossOriginWritesRefused(t *testing.T) {
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite))
	c := srv.User(t, "ada")
	req, _ := http.NewRequest("POST", srv.URL+"/api/projects", strings.NewReader(`{"name":"x"}`))
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST: status %d, want 403", resp.StatusCode)
	}
	ps, _ := c.Projects(context.Background())
	if len(ps) != 0 {
		t.Errorf("cross-site POST created a project")
	}
}

func TestDevLogin(t *testing.T) {
	ctx := context.Background()
	st := testutil.NewStore(t, store.SQLite)
	off := testutil.NewServer(t, st)
	err := off.Client().Do(ctx, "POST", "/api/auth/dev-login", strings.NewReader(`{"email":"dev@x.test"}`), "application/json", nil)
	wantStatus(t, err, http.StatusNotFound)

	on := testutil.NewServer(t, st, testutil.ServerOptions{Config: func(c *config.Config) { c.DevLogin = true }})
	c := on.Client()
	if err := c.Do(ctx, "POST", "/api/auth/dev-login", strings.NewReader(`{"email":"dev@x.test"}`), "application/json", nil); err != nil {
		t.Fatal(err)
	}
	if me, err := c.Me(ctx); err != nil || me.Email != "dev@x.test" {
		t.Fatalf("dev login Me = %+v, %v", me, err)
	}
	var info struct {
		DevLogin bool     `json:"dev_login"`
		Banners  []string `json:"banners"`
	}
	if err := c.Do(ctx, "GET", "/api/server", nil, "", &info); err != nil {
		t.Fatal(err)
	}
	if !info.DevLogin || len(info.Banners) != 1 {
		t.Errorf("server info = %+v, want the dev-login banner", info)
	}
}

func TestMetrics(t *testing.T) {
	ctx := context.Background()
	st := testutil.NewStore(t, store.SQLite)
	srv := testutil.NewServer(t, st, testutil.ServerOptions{Config: func(c *config.Config) { c.MetricsToken = "scrape-me" }})
	admin := srv.User(t, "admin")
	admin.Me(ctx)
	var body []byte
	if err := admin.Do(ctx, "GET", "/metrics", nil, "", &body); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), `ecode_http_requests_total{code="200",method="GET",route="GET /api/me"}`) {
		t.Errorf("metrics lack the request counter:\n%.2000s", body)
	}
	scraper := srv.Client()
	scraper.Token = "scrape-me"
	if err := scraper.Do(ctx, "GET", "/metrics", nil, "", &body); err != nil {
		t.Errorf("metrics token refused: %v", err)
	}
	user := srv.User(t, "user")
	wantStatus(t, user.Do(ctx, "GET", "/metrics", nil, "", &body), http.StatusForbidden)
	scraper.Token = "wrong"
	wantStatus(t, scraper.Do(ctx, "GET", "/metrics", nil, "", &body), http.StatusUnauthorized)
}
