package secrets

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ecode/internal/store"
	"ecode/internal/testutil/testdb"
)

func newService(t *testing.T, st *store.Store, keyFile string) *Service {
	t.Helper()
	keys, err := OpenKeyring(KeySource{File: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	return New(st, keys, nil, nil)
}

func mustProject(t *testing.T, st *store.Store, id string) {
	t.Helper()
	ctx := context.Background()
	u := store.User{ID: "u-" + id, Email: id + "@example.test", Name: id, PasswordHash: "x"}
	if _, err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateProject(ctx, store.Project{ID: id, Name: id, OwnerID: u.ID}); err != nil {
		t.Fatal(err)
	}
}

func TestTamperingFailsClearly(t *testing.T) {
	testdb.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		s := newService(t, st, filepath.Join(t.TempDir(), "master.key"))
		mustProject(t, st, "pa")
		mustProject(t, st, "pb")
		for _, p := range []string{"pa", "pb"} {
			if _, err := s.Put(ctx, p, "API_KEY", "value-of-"+p); err != nil {
				t.Fatal(err)
			}
		}
		if v, err := s.Reveal(ctx, "pa", "API_KEY"); err != nil || v != "value-of-pa" {
			t.Fatalf("reveal: %q %v", v, err)
		}
		pa, pb := projectOwner("pa"), projectOwner("pb")
		ctA, _ := st.SecretCiphertext(ctx, pa, "API_KEY", 1)
		ctB, _ := st.SecretCiphertext(ctx, pb, "API_KEY", 1)

		// a changed ciphertext
		bad := append([]byte{}, ctA...)
		bad[len(bad)-3] ^= 1
		setCiphertext(t, st, pa, "API_KEY", 1, bad)
		if v, err := s.Reveal(ctx, "pa", "API_KEY"); !errors.Is(err, ErrDecrypt) || v != "" {
			t.Fatalf("changed ciphertext: %q %v", v, err)
		}
		if env, _, err := s.Env(ctx, "pa", UseRun); !errors.Is(err, ErrDecrypt) || env != nil {
			t.Fatalf("changed ciphertext at injection: %v %v", env, err)
		}
		// B's ciphertext moved into A's row
		setCiphertext(t, st, pa, "API_KEY", 1, ctB)
		if _, err := s.Reveal(ctx, "pa", "API_KEY"); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("moved ciphertext: %v", err)
		}
		// under one data key, another identity (name, version, project) does not open either
		dek, err := s.dataKey(ctx, st, pa, false)
		if err != nil {
			t.Fatal(err)
		}
		ct, _ := seal(dek, Identity{pa, "OTHER", 1}, []byte("x"))
		for _, id := range []Identity{{pa, "API_KEY", 1}, {pa, "OTHER", 2}, {pb, "OTHER", 1}} {
			if _, err := open(dek, id, ct); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("a ciphertext opened as %+v: %v", id, err)
			}
		}
		if _, err := open(dek, Identity{pa, "OTHER", 1}, ct[:5]); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("truncated: %v", err)
		}
		setCiphertext(t, st, pa, "API_KEY", 1, ctA)
		if v, err := s.Reveal(ctx, "pa", "API_KEY"); err != nil || v != "value-of-pa" {
			t.Fatalf("restored ciphertext: %q %v", v, err)
		}
		// a wrong master key
		wrong := newService(t, st, filepath.Join(t.TempDir(), "other.key"))
		if _, err := wrong.Reveal(ctx, "pa", "API_KEY"); !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), "master key") {
			t.Fatalf("wrong master key: %v", err)
		}
	})
}

func setCiphertext(t *testing.T, st *store.Store, o store.SecretOwner, name string, v int64, ct []byte) {
	t.Helper()
	if err := st.ExecRaw(context.Background(), `UPDATE secret_versions SET ciphertext = ? WHERE scope = ? AND owner_id = ? AND name = ? AND version = ?`,
		ct, o.Scope, o.ID, name, v); err != nil {
		t.Fatal(err)
	}
}

func TestAuditChainDetectsEditAndDelete(t *testing.T) {
	testdb.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := WithActor(context.Background(), Actor{UserID: "u-p1", Name: "p1@example.test", Via: "session:x", Client: "192.0.2.1"})
		s := newService(t, st, filepath.Join(t.TempDir(), "master.key"))
		mustProject(t, st, "p1")
		for _, v := range []string{"first-value", "second-value"} {
			if _, err := s.Put(ctx, "p1", "TOKEN", v); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Reveal(ctx, "p1", "TOKEN"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Env(ctx, "p1", UseExec); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, "p1", "TOKEN"); err != nil {
			t.Fatal(err)
		}
		n, err := s.Verify(ctx)
		if err != nil || n != 5 {
			t.Fatalf("verify: %d rows, %v", n, err)
		}
		log, _ := s.Audit(ctx, "p1")
		var actions []string
		for _, e := range log {
			actions = append(actions, e.Action)
			if e.Actor != "p1@example.test" || e.Client != "192.0.2.1" || e.Via != "session:x" {
				t.Fatalf("row without its actor: %+v", e)
			}
		}
		if got := strings.Join(actions, ","); got != "create,update,reveal,inject,delete" {
			t.Fatalf("actions %s", got)
		}
		// the application cannot change or delete rows
		if err := st.ExecRaw(ctx, `UPDATE secret_audit SET actor = 'x'`); err == nil {
			t.Fatal("UPDATE of the audit log must be refused")
		}
		if err := st.ExecRaw(ctx, `DELETE FROM secret_audit`); err == nil {
			t.Fatal("DELETE from the audit log must be refused")
		}
		// someone who drops the triggers: an edit, then a deletion
		dropTriggers(t, st)
		if err := st.ExecRaw(ctx, `UPDATE secret_audit SET actor = 'mallory' WHERE seq = 3`); err != nil {
			t.Fatal(err)
		}
		_, err = s.Verify(ctx)
		var ce *ChainError
		if !errors.As(err, &ce) || ce.Seq != 3 || !strings.Contains(ce.Reason, "edited") {
			t.Fatalf("edited row: %v", err)
		}
		if err := st.ExecRaw(ctx, `UPDATE secret_audit SET actor = 'p1@example.test' WHERE seq = 3`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Verify(ctx); err != nil {
			t.Fatalf("undone edit: %v", err)
		}
		if err := st.ExecRaw(ctx, `DELETE FROM secret_audit WHERE seq = 2`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Verify(ctx); !errors.As(err, &ce) || ce.Seq != 2 || !strings.Contains(ce.Reason, "deleted") {
			t.Fatalf("deleted row: %v", err)
		}
	})
}

func dropTriggers(t *testing.T, st *store.Store) {
	t.Helper()
	stmts := []string{`DROP TRIGGER secret_audit_no_update`, `DROP TRIGGER secret_audit_no_delete`}
	if st.Engine() == store.Postgres {
		stmts = []string{`DROP TRIGGER secret_audit_no_change ON secret_audit`}
	}
	for _, q := range stmts {
		if err := st.ExecRaw(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRotateWhileServing(t *testing.T) {
	testdb.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		file := filepath.Join(t.TempDir(), "master.key")
		server := newService(t, st, file) // a running server's service
		mustProject(t, st, "r1")
		mustProject(t, st, "r2")
		for _, put := range []func() (bool, error){
			func() (bool, error) { return server.Put(ctx, "r1", "A_KEY", "alpha-value-1") },
			func() (bool, error) { return server.Put(ctx, "r2", "B_KEY", "bravo-value-2") },
			func() (bool, error) { return server.PutAccount(ctx, "u-r1", "ACCT", "account-value") },
		} {
			if _, err := put(); err != nil {
				t.Fatal(err)
			}
		}
		oldKey, _ := os.ReadFile(file)

		n, err := Rotate(ctx, st, file, nil)
		if err != nil || n != 3 {
			t.Fatalf("rotate: %d %v", n, err)
		}
		newKey, _ := os.ReadFile(file)
		if string(newKey) == string(oldKey) {
			t.Fatal("the key file still holds the old key")
		}
		for _, p := range []string{file + ".old", file + ".new"} {
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Fatalf("%s left behind: %v", p, err)
			}
		}
		// the running server follows: an unknown key id makes it read the file again
		if v, err := server.Reveal(ctx, "r1", "A_KEY"); err != nil || v != "alpha-value-1" {
			t.Fatalf("after rotation: %q %v", v, err)
		}
		if v, err := server.RevealAccount(ctx, "u-r1", "ACCT"); err != nil || v != "account-value" {
			t.Fatalf("account secret after rotation: %q %v", v, err)
		}
		// the old key is no longer needed, and no longer opens anything
		fresh := New(st, NewKeyring(newKey), nil, nil)
		if env, _, err := fresh.Env(ctx, "r2", UseRun); err != nil || len(env) != 1 || env[0] != "B_KEY=bravo-value-2" {
			t.Fatalf("new key only: %v %v", env, err)
		}
		oldOnly := New(st, NewKeyring(oldKey), nil, nil)
		if _, err := oldOnly.Reveal(ctx, "r1", "A_KEY"); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("the old key must no longer open anything: %v", err)
		}
	})
}

func TestDotenvAndReservedNames(t *testing.T) {
	pairs, err := ParseDotenv("# c\nexport A=1\nB = 'x y' \nC=\"line\\nnext\"\nD=v # comment\nE=\"multi\nline\"\n")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "1", "B": "x y", "C": "line\nnext", "D": "v", "E": "multi\nline"}
	if len(pairs) != len(want) {
		t.Fatalf("%+v", pairs)
	}
	for _, p := range pairs {
		if want[p.Name] != p.Value {
			t.Errorf("%s=%q, want %q", p.Name, p.Value, want[p.Name])
		}
	}
	if _, err := ParseDotenv("A=1\nnot a line\n"); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("bad line: %v", err)
	}
	for _, n := range []string{"PORT", "DATABASE_URL", "PATH", "HTTPS_PROXY", "ECODE_X", "1X", "A-B"} {
		if err := CheckName(n); err == nil {
			t.Errorf("%s must be refused", n)
		}
	}
}

func FuzzParseDotenv(f *testing.F) {
	f.Add("A=1\nB=\"x\\\"y\"\nC='z'\n# c\n")
	f.Add("E=\"multi\nline\"")
	f.Fuzz(func(t *testing.T, text string) {
		pairs, err := ParseDotenv(text)
		if err != nil {
			return
		}
		for _, p := range pairs {
			if !nameRE.MatchString(p.Name) {
				t.Fatalf("bad name %q accepted", p.Name)
			}
		}
	})
}
