package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"ecode/internal/client"
	"ecode/internal/config"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

type createdInvite struct {
	Invite struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"invite"`
	Token string `json:"token"`
	Path  string `json:"path"`
}

func signupWith(c *client.Client, email, invite string) error {
	return call(c, "POST", "/api/auth/signup", map[string]string{"email": email, "password": "correct horse battery",
		"name": "New", "invite": invite}, nil)
}

func TestSignupPolicyAndInvites(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		srv := testutil.NewServer(t, st)
		admin := srv.User(t, "admin")
		bob := srv.User(t, "bob")
		var pol struct{ Policy string }
		if err := call(admin, "GET", "/api/admin/signup-policy", nil, &pol); err != nil || pol.Policy != "open" {
			t.Fatalf("default policy %q, %v; want open (from --signup-open)", pol.Policy, err)
		}
		e := wantStatus(t, call(admin, "PUT", "/api/admin/signup-policy", map[string]string{"policy": "sometimes"}, nil), 400)
		if e.Fields["policy"] == "" {
			t.Errorf("no field error: %+v", e)
		}
		if err := call(admin, "PUT", "/api/admin/signup-policy", map[string]string{"policy": "invite"}, nil); err != nil {
			t.Fatal(err)
		}
		var info struct {
			SignupOpen   bool   `json:"signup_open"`
			SignupPolicy string `json:"signup_policy"`
		}
		if err := call(srv.Client(), "GET", "/api/server", nil, &info); err != nil || info.SignupOpen || info.SignupPolicy != "invite" {
			t.Fatalf("server info %+v, %v", info, err)
		}
		e = wantStatus(t, signupWith(srv.Client(), "nobody@example.test", ""), 403)
		if e.Code != "invite_required" {
			t.Errorf("code %q, want invite_required", e.Code)
		}
		var inv createdInvite
		if err := call(admin, "POST", "/api/admin/invites", map[string]int{"expires_in_hours": 1}, &inv); err != nil {
			t.Fatal(err)
		}
		if inv.Token == "" || inv.Path != "/signup?invite="+inv.Token || inv.Invite.Status != "active" {
			t.Fatalf("invite %+v", inv)
		}
		if err := signupWith(srv.Client(), "invited@example.test", inv.Token); err != nil {
			t.Fatalf("sign-up with the invite: %v", err)
		}
		e = wantStatus(t, signupWith(srv.Client(), "second@example.test", inv.Token), 403)
		if e.Code != "invite_invalid" {
			t.Errorf("reused invite: code %q", e.Code)
		}
		var list []struct {
			ID, Status string
		}
		if err := call(admin, "GET", "/api/admin/invites", nil, &list); err != nil || len(list) != 1 || list[0].Status != "used" {
			t.Fatalf("invites %+v, %v", list, err)
		}
		// An expired invite and a revoked one do not work.
		var old, revoked createdInvite
		call(admin, "POST", "/api/admin/invites", map[string]int{"expires_in_hours": 1}, &old)
		call(admin, "POST", "/api/admin/invites", nil, &revoked)
		if err := call(admin, "DELETE", "/api/admin/invites/"+revoked.Invite.ID, nil, nil); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, call(admin, "DELETE", "/api/admin/invites/"+revoked.Invite.ID, nil, nil), 404)
		srv.Clock.Advance(2 * time.Hour)
		wantStatus(t, signupWith(srv.Client(), "late@example.test", old.Token), 403)
		wantStatus(t, signupWith(srv.Client(), "revoked@example.test", revoked.Token), 403)
		// Closed: even an invite does not open it.
		var fresh createdInvite
		call(admin, "POST", "/api/admin/invites", nil, &fresh)
		call(admin, "PUT", "/api/admin/signup-policy", map[string]string{"policy": "closed"}, nil)
		e = wantStatus(t, signupWith(srv.Client(), "closed@example.test", fresh.Token), 403)
		if e.Code != "signup_closed" {
			t.Errorf("closed: code %q", e.Code)
		}
		// Only a hash of the token is stored.
		xs, err := st.ListInvites(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range xs {
			if x.TokenHash == fresh.Token || x.TokenHash == inv.Token {
				t.Fatal("invite token stored in clear")
			}
		}
		wantStatus(t, call(bob, "POST", "/api/admin/invites", nil, nil), http.StatusForbidden)
	})
}

func TestSignupPolicyDefaultClosed(t *testing.T) {
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite), testutil.ServerOptions{
		Config: func(c *config.Config) { c.SignupOpen = false }})
	if err := signupWith(srv.Client(), "first@example.test", ""); err != nil {
		t.Fatalf("the first account must always be possible: %v", err)
	}
	wantStatus(t, signupWith(srv.Client(), "second@example.test", ""), 403)
}
