package api_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ecode/internal/store"
	"ecode/internal/testutil"
)

func TestAdminResetTwoFactorAudited(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		srv := testutil.NewServer(t, st)
		admin, dee := srv.User(t, "admin"), srv.User(t, "dee")
		enrolTOTP(t, srv, dee)
		deeID, adminID := whoami(t, dee).ID, whoami(t, admin).ID
		wantError(t, call(dee, "POST", "/api/admin/users/"+deeID+"/reset-2fa", nil, nil), 403, "")
		if err := call(admin, "POST", "/api/admin/users/"+deeID+"/reset-2fa", nil, nil); err != nil {
			t.Fatal(err)
		}
		wantError(t, call(admin, "POST", "/api/admin/users/"+deeID+"/reset-2fa", nil, nil), 409, "conflict")
		if _, err := login(srv, "dee@example.test", pw, ""); err != nil {
			t.Fatalf("after the reset a password signs in: %v", err)
		}
		found := false
		for _, e := range events(t, dee, "/api/me/security-events") {
			if e.Kind == "totp_reset" && e.ActorID == adminID && e.UserID == deeID && e.IP != "" {
				found = true
			}
		}
		if !found {
			t.Error("the reset is not in the user's security log with the admin as actor")
		}
		if !eventKinds(t, admin, "/api/admin/security-events?user="+deeID)["totp_reset"] {
			t.Error("the admin does not see the reset")
		}
	})
}

func TestSecurityEventsVisibility(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		srv := testutil.NewServer(t, st)
		admin, eve, fay := srv.User(t, "admin"), srv.User(t, "eve"), srv.User(t, "fay")
		if _, err := eve.CreateToken(context.Background(), "eve's token"); err != nil {
			t.Fatal(err)
		}
		if _, err := login(srv, "fay@example.test", "wrong password!", ""); err == nil {
			t.Fatal("a wrong password signed in")
		}
		if _, err := login(srv, "fay@example.test", pw, ""); err != nil {
			t.Fatal(err)
		}
		eveID, fayID := whoami(t, eve).ID, whoami(t, fay).ID
		for _, e := range events(t, fay, "/api/me/security-events") {
			if e.UserID != fayID {
				t.Errorf("fay sees an event of %s: %+v", e.UserID, e)
			}
		}
		if err := eve.Logout(context.Background()); err != nil {
			t.Fatal(err)
		}
		fk := eventKinds(t, fay, "/api/me/security-events")
		if !fk["sign_up"] || !fk["sign_in_failed"] || !fk["sign_in"] || fk["token_created"] || fk["sign_out"] {
			t.Errorf("fay's events: %v", fk)
		}
		wantError(t, call(fay, "GET", "/api/admin/security-events", nil, nil), 403, "")
		users := map[string]bool{}
		for _, e := range events(t, admin, "/api/admin/security-events") {
			users[e.UserID] = true
		}
		if !users[eveID] || !users[fayID] {
			t.Errorf("the admin's log misses users: %v", users)
		}
		if ek := eventKinds(t, admin, "/api/admin/security-events"); !ek["sign_out"] || !ek["sign_up"] {
			t.Errorf("the admin's log misses eve's sign-up or sign-out: %v", ek)
		}
		wantError(t, call(admin, "GET", "/api/admin/security-events?limit=0", nil, nil), 400, "invalid")
	})
}

func TestChangePasswordEndsOtherSessions(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		srv := testutil.NewServer(t, st)
		gus := srv.User(t, "gus")
		other, err := login(srv, "gus@example.test", pw, "")
		if err != nil {
			t.Fatal(err)
		}
		wantError(t, call(gus, "POST", "/api/me/password", map[string]string{"current_password": "nope nope", "new_password": "a new passphrase"}, nil), 400, "invalid")
		if err := call(gus, "POST", "/api/me/password", map[string]string{"current_password": pw, "new_password": "a new passphrase"}, nil); err != nil {
			t.Fatal(err)
		}
		whoami(t, gus) // this session stays
		wantError(t, call(other, "GET", "/api/me", nil, nil), 401, "")
		if _, err := login(srv, "gus@example.test", pw, ""); err == nil {
			t.Fatal("the old password still works")
		}
		if _, err := login(srv, "gus@example.test", "a new passphrase", ""); err != nil {
			t.Fatal(err)
		}
		if !eventKinds(t, gus, "/api/me/security-events")["password_changed"] {
			t.Error("no password_changed event")
		}
	})
}

func TestUpdateProfile(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		srv := testutil.NewServer(t, st)
		hal := srv.User(t, "hal")
		srv.User(t, "ida")
		wantError(t, call(hal, "PATCH", "/api/me", map[string]string{"email": "IDA@example.test"}, nil), 400, "invalid")
		wantError(t, call(hal, "PATCH", "/api/me", map[string]string{"name": " "}, nil), 400, "invalid")
		var u struct{ Name, Email string }
		if err := call(hal, "PATCH", "/api/me", map[string]string{"name": "Hal 9000", "email": "Hal@Example.test"}, &u); err != nil {
			t.Fatal(err)
		}
		if u.Name != "Hal 9000" || u.Email != "hal@example.test" {
			t.Fatalf("profile %+v", u)
		}
		if err := call(hal, "PATCH", "/api/me", map[string]string{"email": "hal2@example.test"}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := login(srv, "hal2@example.test", pw, ""); err != nil {
			t.Fatalf("the new email does not sign in: %v", err)
		}
	})
}

func TestDisabledUserStopsAtOnce(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		srv := testutil.NewServer(t, st)
		admin, jo := srv.User(t, "admin"), srv.User(t, "jo")
		tok, err := jo.CreateToken(context.Background(), "ci")
		if err != nil {
			t.Fatal(err)
		}
		bearer := srv.Client()
		bearer.Token = tok.Token
		whoami(t, bearer)
		joID := whoami(t, jo).ID
		if err := call(admin, "PATCH", "/api/admin/users/"+joID, map[string]bool{"disabled": true}, nil); err != nil {
			t.Fatal(err)
		}
		wantError(t, call(jo, "GET", "/api/me", nil, nil), 401, "")
		wantError(t, call(bearer, "GET", "/api/me", nil, nil), 401, "")
		_, err = login(srv, "jo@example.test", pw, "")
		wantError(t, err, 403, "account_disabled")
		var list []struct {
			ID          string     `json:"id"`
			Disabled    bool       `json:"disabled"`
			TwoFactor   bool       `json:"two_factor"`
			LastLoginAt *time.Time `json:"last_login_at"`
		}
		if err := call(admin, "GET", "/api/admin/users", nil, &list); err != nil {
			t.Fatal(err)
		}
		for _, u := range list {
			if u.ID == joID && !u.Disabled {
				t.Error("the list does not show jo disabled")
			}
		}
		if err := call(admin, "PATCH", "/api/admin/users/"+joID, map[string]bool{"disabled": false}, nil); err != nil {
			t.Fatal(err)
		}
		whoami(t, bearer) // tokens work again once enabled
		if _, err := login(srv, "jo@example.test", pw, ""); err != nil {
			t.Fatal(err)
		}
		k := eventKinds(t, admin, "/api/admin/security-events?user="+joID)
		if !k["user_disabled"] || !k["user_enabled"] {
			t.Errorf("events %v", k)
		}
	})
}

func TestLastAdminCannotBeDemoted(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		srv := testutil.NewServer(t, st)
		admin, kim := srv.User(t, "admin"), srv.User(t, "kim")
		adminID, kimID := whoami(t, admin).ID, whoami(t, kim).ID
		wantError(t, call(admin, "PATCH", "/api/admin/users/"+adminID, map[string]bool{"is_admin": false}, nil), 409, "conflict")
		wantError(t, call(admin, "PATCH", "/api/admin/users/"+adminID, map[string]bool{"disabled": true}, nil), 409, "conflict")
		if err := call(admin, "PATCH", "/api/admin/users/"+kimID, map[string]bool{"is_admin": true}, nil); err != nil {
			t.Fatal(err)
		}
		if err := call(admin, "PATCH", "/api/admin/users/"+adminID, map[string]bool{"is_admin": false}, nil); err != nil {
			t.Fatal(err)
		}
		wantError(t, call(kim, "PATCH", "/api/admin/users/"+kimID, map[string]bool{"is_admin": false}, nil), 409, "conflict")
		wantError(t, call(admin, "GET", "/api/admin/users", nil, nil), 403, "")
		k := eventKinds(t, kim, "/api/admin/security-events")
		if !k["admin_granted"] || !k["admin_revoked"] {
			t.Errorf("events %v", k)
		}
	})
}

func TestDeleteUserProjects(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		srv := testutil.NewServer(t, st)
		admin, leo, mia, ned := srv.User(t, "admin"), srv.User(t, "leo"), srv.User(t, "mia"), srv.User(t, "ned")
		kept, err := leo.CreateProject(ctx, "kept", "static")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := leo.AddMember(ctx, kept.ID, "mia@example.test", "editor"); err != nil {
			t.Fatal(err)
		}
		gone, err := ned.CreateProject(ctx, "gone", "static")
		if err != nil {
			t.Fatal(err)
		}
		leoID, miaID, nedID := whoami(t, leo).ID, whoami(t, mia).ID, whoami(t, ned).ID
		wantError(t, call(admin, "DELETE", "/api/admin/users/"+leoID, nil, nil), 400, "invalid")
		wantError(t, call(admin, "DELETE", "/api/admin/users/"+leoID+"?projects=transfer&to="+leoID, nil, nil), 400, "invalid")
		if err := call(admin, "DELETE", "/api/admin/users/"+leoID+"?projects=transfer&to="+miaID, nil, nil); err != nil {
			t.Fatal(err)
		}
		p, err := mia.Project(ctx, kept.ID)
		if err != nil || p.Role != store.RoleOwner {
			t.Fatalf("mia's view of the transferred project: %+v, %v", p, err)
		}
		if err := call(admin, "DELETE", "/api/admin/users/"+nedID+"?projects=delete", nil, nil); err != nil {
			t.Fatal(err)
		}
		if ids, err := st.OwnedProjects(ctx, nedID); err != nil || len(ids) != 0 {
			t.Fatalf("ned's projects remain: %v, %v", ids, err)
		}
		if _, err := os.Stat(filepath.Join(srv.Dir, "projects", gone.ID)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the deleted project's files remain: %v", err)
		}
		if _, err := login(srv, "leo@example.test", pw, ""); err == nil {
			t.Fatal("a deleted user signs in")
		}
		wantError(t, call(admin, "DELETE", "/api/admin/users/"+whoami(t, admin).ID+"?projects=delete", nil, nil), 400, "bad_request")
		if !eventKinds(t, admin, "/api/admin/security-events?user="+nedID)["user_deleted"] {
			t.Error("no user_deleted event")
		}
	})
}
