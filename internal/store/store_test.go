package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"ecode/internal/store"
	"ecode/internal/testutil"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)

func mkUser(t testing.TB, st *store.Store, id, email string) store.User {
	t.Helper()
	u, err := st.CreateUser(context.Background(), store.User{ID: id, Email: email, Name: id, PasswordHash: "h", CreatedAt: t0})
	if err != nil {
		t.Fatalf("create user %s: %v", id, err)
	}
	return u
}

func TestUsers(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		a := mkUser(t, st, "ua", "a@x.test")
		b := mkUser(t, st, "ub", "b@x.test")
		if !a.IsAdmin || b.IsAdmin {
			t.Fatalf("first user must be the only admin: a=%v b=%v", a.IsAdmin, b.IsAdmin)
		}
		_, err := st.CreateUser(ctx, store.User{ID: "uc", Email: "a@x.test", Name: "c", PasswordHash: "h", CreatedAt: t0})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate email: got %v, want ErrConflict", err)
		}
		got, err := st.UserByEmail(ctx, "b@x.test")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(b, got); diff != "" {
			t.Errorf("UserByEmail (-want +got):\n%s", diff)
		}
		if _, err := st.UserByID(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing user: got %v, want ErrNotFound", err)
		}
		us, err := st.ListUsers(ctx)
		if err != nil || len(us) != 2 {
			t.Fatalf("ListUsers = %d users, %v", len(us), err)
		}
		if n, _ := st.CountUsers(ctx); n != 2 {
			t.Errorf("CountUsers = %d", n)
		}
	})
}

func TestSessionsAndTokens(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		mkUser(t, st, "ua", "a@x.test")
		mkUser(t, st, "ub", "b@x.test")
		x := store.Session{ID: "s1", TokenHash: "th1", UserID: "ua", CreatedAt: t0, LastSeenAt: t0,
			ExpiresAt: t0.Add(time.Hour), UserAgent: "ua/1", IP: "127.0.0.1"}
		if err := st.CreateSession(ctx, x); err != nil {
			t.Fatal(err)
		}
		got, err := st.SessionByTokenHash(ctx, "th1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(x, got); diff != "" {
			t.Errorf("session round trip (-want +got):\n%s", diff)
		}
		if bx, bu, err := st.SessionWithUserByID(ctx, "s1"); err != nil || bx != x || bu.ID != "ua" {
			t.Errorf("SessionWithUserByID = %+v, %+v, %v", bx, bu, err)
		}
		if _, _, err := st.SessionWithUserByID(ctx, "th1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SessionWithUserByID of a token hash: got %v, want ErrNotFound", err)
		}
		if err := st.TouchSession(ctx, "s1", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteSession(ctx, "ub", "s1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleting another user's session: got %v, want ErrNotFound", err)
		}
		xs, _ := st.ListSessions(ctx, "ua")
		if len(xs) != 1 || !xs[0].LastSeenAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("ListSessions after touch = %+v", xs)
		}
		n, err := st.DeleteExpiredSessions(ctx, t0.Add(2*time.Hour), t0)
		if err != nil || n != 1 {
			t.Errorf("DeleteExpiredSessions = %d, %v; want 1", n, err)
		}

		tok := store.Token{ID: "t1", UserID: "ua", Name: "ci", TokenHash: "tok1", CreatedAt: t0}
		if err := st.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if err := st.TouchToken(ctx, "t1", t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		gt, err := st.TokenByHash(ctx, "tok1")
		if err != nil || gt.LastUsedAt == nil || !gt.LastUsedAt.Equal(t0.Add(time.Second)) {
			t.Fatalf("TokenByHash = %+v, %v", gt, err)
		}
		if err := st.DeleteToken(ctx, "ub", "t1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleting another user's token: got %v", err)
		}
		if bt, bu, err := st.TokenWithUserByID(ctx, "t1"); err != nil || bt.TokenHash != "tok1" || bu.ID != "ua" {
			t.Errorf("TokenWithUserByID = %+v, %+v, %v", bt, bu, err)
		}
		if err := st.DeleteToken(ctx, "ua", "t1"); err != nil {
			t.Errorf("DeleteToken: %v", err)
		}
		if _, err := st.TokenByHash(ctx, "tok1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("revoked token still found: %v", err)
		}
		if _, _, err := st.TokenWithUserByID(ctx, "t1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("revoked token still found by ID: %v", err)
		}
	})
}

func TestProjectsAndMembers(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		mkUser(t, st, "ua", "a@x.test")
		mkUser(t, st, "ub", "b@x.test")
		p, err := st.CreateProject(ctx, store.Project{ID: "p1", Name: "One", Template: "node", OwnerID: "ua", CreatedAt: t0, UpdatedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
		if p.Role != store.RoleOwner {
			t.Errorf("creator role = %q", p.Role)
		}
		if _, err := st.ProjectForMember(ctx, "p1", "ub"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("non-member sees project: %v", err)
		}
		if err := st.AddMember(ctx, "p1", "ub", store.RoleViewer, t0); err != nil {
			t.Fatal(err)
		}
		if err := st.AddMember(ctx, "p1", "ub", store.RoleEditor, t0); !errors.Is(err, store.ErrConflict) {
			t.Errorf("duplicate member: %v", err)
		}
		got, err := st.ProjectForMember(ctx, "p1", "ub")
		if err != nil || got.Role != store.RoleViewer || got.Name != "One" {
			t.Fatalf("ProjectForMember = %+v, %v", got, err)
		}
		if err := st.SetMemberRole(ctx, "p1", "ua", store.RoleViewer); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("changing the owner's role: %v, want ErrNotFound", err)
		}
		if err := st.SetMemberRole(ctx, "p1", "ub", store.RoleEditor); err != nil {
			t.Fatal(err)
		}
		ms, err := st.ListMembers(ctx, "p1")
		if err != nil {
			t.Fatal(err)
		}
		roles := []store.Role{ms[0].Role, ms[1].Role}
		if diff := cmp.Diff([]store.Role{store.RoleOwner, store.RoleEditor}, roles); diff != "" {
			t.Errorf("members (-want +got):\n%s", diff)
		}
		if err := st.RenameProject(ctx, "p1", "Uno", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		ps, _ := st.ListProjects(ctx, "ub")
		if len(ps) != 1 || ps[0].Name != "Uno" || !ps[0].UpdatedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("ListProjects = %+v", ps)
		}
		if err := st.RemoveMember(ctx, "p1", "ua"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("removing the owner: %v", err)
		}
		if err := st.DeleteProject(ctx, "p1"); err != nil {
			t.Fatal(err)
		}
		if ms, _ := st.ListMembers(ctx, "p1"); len(ms) != 0 {
			t.Errorf("memberships survive project deletion: %+v", ms)
		}
		if err := st.DeleteProject(ctx, "p1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second delete: %v", err)
		}
	})
}

func TestInTxRollsBack(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		boom := errors.New("boom")
		err := st.InTx(ctx, func(tx *store.Store) error {
			if _, err := tx.CreateUser(ctx, store.User{ID: "u1", Email: "a@x.test", Name: "a", PasswordHash: "h", CreatedAt: t0}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx error = %v", err)
		}
		if n, _ := st.CountUsers(ctx); n != 0 {
			t.Errorf("rolled-back insert is visible: %d users", n)
		}
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		have, want, err := st.SchemaVersion(ctx)
		if err != nil || have != want || want < 1 {
			t.Errorf("SchemaVersion = %d, %d, %v", have, want, err)
		}
	})
}

func TestConcurrentFirstSignupsMakeOneAdmin(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		errs := make(chan error, 8)
		for i := range 8 {
			go func() {
				_, err := st.CreateUser(ctx, store.User{ID: string(rune('a' + i)), Email: string(rune('a'+i)) + "@x.test",
					Name: "n", PasswordHash: "h", CreatedAt: t0})
				errs <- err
			}()
		}
		for range 8 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		us, _ := st.ListUsers(ctx)
		admins := 0
		for _, u := range us {
			if u.IsAdmin {
				admins++
			}
		}
		if admins != 1 {
			t.Errorf("%d admins after concurrent sign-ups, want 1", admins)
		}
	})
}

func TestUsageIsIdempotent(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := store.UsageEvent{ID: "e1", IdempotencyKey: "run:1:0", ProjectID: "p", Kind: "sandbox_cpu_seconds", Quantity: 1.5, Unit: "s", CreatedAt: t0}
		for i := range 3 {
			e.ID = string(rune('a' + i))
			ok, err := st.RecordUsage(ctx, e)
			if err != nil || ok != (i == 0) {
				t.Fatalf("record %d: %v, %v", i, ok, err)
			}
		}
		e.ID, e.IdempotencyKey, e.Quantity = "z", "run:1:1", 2
		st.RecordUsage(ctx, e)
		if total, err := st.UsageTotal(ctx, "p", "sandbox_cpu_seconds"); err != nil || total != 3.5 {
			t.Errorf("total = %v, %v; want 3.5", total, err)
		}
	})
}

func TestSettingOrInit(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		a, err := st.SettingOrInit(ctx, "k", func() string { return "first" })
		if err != nil {
			t.Fatal(err)
		}
		b, _ := st.SettingOrInit(ctx, "k", func() string { return "second" })
		if a != "first" || b != "first" {
			t.Errorf("got %q then %q", a, b)
		}
	})
}
