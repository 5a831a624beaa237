package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"ecode/internal/agent/fake"
	"ecode/internal/app"
	"ecode/internal/config"
	"ecode/internal/store"
	"ecode/internal/testutil"
	"ecode/internal/testutil/testdb"
)

const backupPassphrase = "correct horse battery staple"

// backupEnv is one engine's setup: the server's store URL and the flags
// the CLI needs to reach the same service.
type backupEnv struct {
	engine   store.Engine
	storeURL string
	admin    string // PostgreSQL admin URL for project databases ("" on SQLite)
}

func (e backupEnv) flags(dir, storeURL string) []string {
	f := []string{"--data-dir", dir, "--project-disk", "0"}
	if e.engine == store.Postgres {
		f = append(f, "--database-url", storeURL, "--project-db-url", e.admin)
	}
	return f
}

func (e backupEnv) config(c *config.Config) {
	c.ProjectDBURL = e.admin
}

func openStore(t *testing.T, url string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// freshPostgresDB creates an empty database for the restore (dropped at the
// end) and returns its URL with the same search_path as from.
func freshPostgresDB(t *testing.T, from string) string {
	t.Helper()
	admin := os.Getenv(testdb.PostgresURLEnv)
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 5)
	rand.Read(b)
	name := "ecode_restore_" + hex.EncodeToString(b)
	if _, err := db.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Exec(`DROP DATABASE ` + name + ` WITH (FORCE)`)
		db.Close()
	})
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	q := u.Query()
	fq, _ := url.Parse(from)
	q.Set("search_path", fq.Query().Get("search_path"))
	u.RawQuery = q.Encode()
	return u.String()
}

// projectSQL runs one statement on a project's database (by its URL) and
// returns the first column of the first row, if any.
func projectSQL(t *testing.T, dbURL, q string) string {
	t.Helper()
	driver, dsn := "pgx", dbURL
	if p, ok := strings.CutPrefix(dbURL, "sqlite:"); ok {
		driver, dsn = "sqlite", p
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if !strings.HasPrefix(q, "SELECT") {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return ""
	}
	var v string
	if err := db.QueryRow(q).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

func backupEngines(t *testing.T, fn func(t *testing.T, e backupEnv)) {
	for _, engine := range testdb.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			e := backupEnv{engine: engine}
			if engine == store.Postgres {
				e.storeURL = testdb.PostgresURL(t) // skips without PostgreSQL, fails in CI
				e.admin = os.Getenv(testdb.PostgresURLEnv)
			}
			fn(t, e)
		})
	}
}

func main(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := app.Main(context.Background(), args, func(string) string { return "" }, &out, io.Discard)
	return out.String(), err
}

// A backup taken while a client writes files, restored onto an empty data
// directory and a fresh database, brings back the accounts, the project's
// files, database, secrets, checkpoints and agent history; corrupt or
// truncated archives are refused before anything is written.
func TestBackupWhileServingThenRestore(t *testing.T) {
	backupEngines(t, func(t *testing.T, e backupEnv) {
		ctx := context.Background()
		fk := fake.NewAnthropic(&fake.Transcript{Name: "backup", Steps: []fake.Step{
			{Expect: &fake.Expect{LastUserText: "write the notes"}, Respond: fake.Respond{StopReason: "tool_use", Content: []fake.Content{
				fake.Tool("write", map[string]string{"file_path": "notes.md", "content": "# Notes by the agent\n"})}}},
			{Expect: &fake.Expect{AnyResultContains: "notes.md"}, Respond: fake.Respond{StopReason: "end_turn", Content: []fake.Content{
				fake.Text("The notes are written.")}}},
		}})
		t.Cleanup(fk.Close)
		dir := testutil.TraversableTempDir(t)
		storeURL := e.storeURL
		if e.engine == store.SQLite {
			storeURL = filepath.Join(dir, "ecode.db")
		}
		st := openStore(t, storeURL)
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		agentConfig := func(c *config.Config) {
			e.config(c)
			c.AnthropicAPIKey, c.AnthropicBaseURL = "test-key", fk.URL
		}
		srv := testutil.NewServer(t, st, testutil.ServerOptions{Dir: dir, Config: agentConfig})
		c := srv.User(t, "owner")
		p, err := c.CreateProject(ctx, "kept", "")
		if err != nil {
			t.Fatal(err)
		}
		if e.admin != "" {
			t.Cleanup(func() { srv.DBs.Drop(context.Background(), p.ID) })
		}
		base := "/api/projects/" + p.ID
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(c.WriteFile(ctx, p.ID, "main.py", []byte("print('v1')\n")))
		dbURL := srv.DBs.DB(p.ID).URL()
		projectSQL(t, dbURL, `CREATE TABLE kept (v TEXT)`)
		projectSQL(t, dbURL, `INSERT INTO kept VALUES ('row one')`)
		must(c.Do(ctx, "PUT", base+"/secrets/API_TOKEN", strings.NewReader(`{"value":"s3cret-token-value"}`), "application/json", nil))
		var cp1 struct{ ID string }
		must(c.Do(ctx, "POST", base+"/checkpoints", strings.NewReader(`{"message":"v1"}`), "application/json", &cp1))
		resp, err := c.Raw(ctx, "POST", base+"/agent/turns", strings.NewReader(`{"prompt":"please write the notes"}`), "application/json")
		must(err)
		io.Copy(io.Discard, resp.Body) // the whole turn
		resp.Body.Close()
		must(c.WriteFile(ctx, p.ID, "main.py", []byte("print('v2')\n")))

		// A release's folder (a published app's build) stands for the deployments.
		release := filepath.Join("deployments", p.ID, "rel1", "app", "index.html")
		must(os.MkdirAll(filepath.Dir(filepath.Join(dir, release)), 0o755))
		must(os.WriteFile(filepath.Join(dir, release), []byte("<h1>published</h1>"), 0o644))

		// A client keeps writing while the backup runs.
		stop, started, done := make(chan struct{}), make(chan struct{}), make(chan int)
		go func() {
			i := 0
			defer func() { done <- i }()
			for ; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := c.WriteFile(ctx, p.ID, fmt.Sprintf("load/%d.txt", i), []byte(fmt.Sprint(i))); err != nil {
					t.Error(err)
					return
				}
				if i == 0 {
					close(started)
				}
			}
		}()
		<-started
		archive := filepath.Join(t.TempDir(), "service.tar.gz")
		pf := filepath.Join(t.TempDir(), "pass")
		os.WriteFile(pf, []byte(backupPassphrase+"\n"), 0o600)
		out, err := main(t, append([]string{"backup", "--out", archive, "--include-key", "--passphrase-file", pf}, e.flags(dir, storeURL)...)...)
		close(stop)
		writes := <-done
		must(err)
		t.Logf("%s(%d writes by the client while it ran)", out, writes)

		// The fresh machine: an empty data dir and database.
		dir2 := testutil.TraversableTempDir(t)
		store2 := filepath.Join(dir2, "ecode.db")
		if e.engine == store.Postgres {
			store2 = freshPostgresDB(t, storeURL)
			// The old service's project databases are still on that server: refused.
			if _, err := main(t, append([]string{"restore", archive, "--passphrase-file", pf}, e.flags(dir2, store2)...)...); err == nil ||
				!strings.Contains(err.Error(), "project databases already exist") {
				t.Fatalf("restore over existing project databases: %v", err)
			}
			srv.DBs.Drop(ctx, p.ID) // the project database is gone too
		}
		good, _ := os.ReadFile(archive)
		flipped, truncated := bytes.Clone(good), good[:len(good)*2/3]
		flipped[len(flipped)/2] ^= 0x01
		for name, b := range map[string][]byte{"flipped": flipped, "truncated": truncated} {
			bad := filepath.Join(t.TempDir(), name+".tar.gz")
			os.WriteFile(bad, b, 0o600)
			_, err := main(t, append([]string{"restore", bad, "--passphrase-file", pf}, e.flags(dir2, store2)...)...)
			if err == nil || !strings.Contains(err.Error(), "corrupt or truncated") {
				t.Fatalf("%s archive: %v", name, err)
			}
			t.Logf("%s archive refused: %v", name, err)
		}
		wrong := filepath.Join(t.TempDir(), "wrong")
		os.WriteFile(wrong, []byte("not the passphrase at all"), 0o600)
		if _, err := main(t, append([]string{"restore", archive, "--passphrase-file", wrong}, e.flags(dir2, store2)...)...); err == nil ||
			!strings.Contains(err.Error(), "passphrase") {
			t.Fatalf("wrong passphrase: %v", err)
		}
		assertEmpty(t, e, dir2, store2)

		out, err = main(t, append([]string{"restore", archive, "--passphrase-file", pf}, e.flags(dir2, store2)...)...)
		must(err)
		t.Log(out)
		if _, err := main(t, append([]string{"restore", archive, "--passphrase-file", pf}, e.flags(dir2, store2)...)...); err == nil ||
			!strings.Contains(err.Error(), "not empty") {
			t.Fatalf("restore over a restored service: %v", err)
		}

		if b, err := os.ReadFile(filepath.Join(dir2, release)); err != nil || string(b) != "<h1>published</h1>" {
			t.Fatalf("the release's files: %q, %v", b, err)
		}

		if e.engine == store.SQLite { // --force moves an old data dir's contents aside
			dir3 := t.TempDir()
			os.WriteFile(filepath.Join(dir3, "ecode.db"), []byte("an old database"), 0o600)
			if _, err := main(t, append([]string{"restore", archive, "--force", "--passphrase-file", pf}, e.flags(dir3, "")...)...); err != nil {
				t.Fatalf("restore --force: %v", err)
			}
			old, _ := filepath.Glob(filepath.Join(dir3, "replaced-*", "ecode.db"))
			if b, _ := os.ReadFile(filepath.Join(dir3, "ecode.db")); len(old) != 1 || string(b) == "an old database" {
				t.Fatalf("--force: old database kept at %v", old)
			}
		}

		// The restored service.
		st2 := openStore(t, store2)
		srv2 := testutil.NewServer(t, st2, testutil.ServerOptions{Dir: dir2, Config: agentConfig})
		c2 := srv2.Client()
		if _, err := c2.Login(ctx, "owner@example.test", "correct horse battery"); err != nil {
			t.Fatalf("sign in on the restored service: %v", err)
		}
		if got, err := c2.ReadFile(ctx, p.ID, "main.py"); err != nil || string(got) != "print('v2')\n" {
			t.Fatalf("main.py %q, %v", got, err)
		}
		if got, err := c2.ReadFile(ctx, p.ID, "notes.md"); err != nil || !strings.Contains(string(got), "Notes by the agent") {
			t.Fatalf("notes.md %q, %v", got, err)
		}
		if got, err := c2.ReadFile(ctx, p.ID, "load/0.txt"); err != nil || string(got) != "0" {
			t.Fatalf("load/0.txt %q, %v", got, err)
		}
		if v := projectSQL(t, srv2.DBs.DB(p.ID).URL(), `SELECT v FROM kept`); v != "row one" {
			t.Fatalf("project database: %q", v)
		}
		var secret struct{ Value string }
		must(c2.Do(ctx, "POST", base+"/secrets/API_TOKEN/reveal", nil, "", &secret))
		if secret.Value != "s3cret-token-value" {
			t.Fatalf("secret %q", secret.Value)
		}
		var turns struct {
			Turns []struct{ Prompt, Status string }
		}
		must(c2.Do(ctx, "GET", base+"/agent/turns", nil, "", &turns))
		if len(turns.Turns) != 1 || turns.Turns[0].Prompt != "please write the notes" {
			t.Fatalf("agent history %+v", turns)
		}
		must(c2.Do(ctx, "POST", base+"/checkpoints/"+cp1.ID+"/restore", strings.NewReader(`{}`), "application/json", nil))
		if got, err := c2.ReadFile(ctx, p.ID, "main.py"); err != nil || string(got) != "print('v1')\n" {
			t.Fatalf("main.py after restoring checkpoint v1: %q, %v", got, err)
		}
		if _, err := c2.ReadFile(ctx, p.ID, "notes.md"); err == nil {
			t.Fatal("notes.md is still there after restoring the checkpoint before the agent wrote it")
		}
	})
}

// assertEmpty: refused restores wrote nothing.
func assertEmpty(t *testing.T, e backupEnv, dir, storeURL string) {
	t.Helper()
	des, _ := os.ReadDir(dir)
	if len(des) != 0 {
		t.Fatalf("refused restores left %d entries in the data dir (%s)", len(des), des[0].Name())
	}
	if e.engine == store.Postgres {
		st := openStore(t, storeURL)
		if n, err := st.TableCount(context.Background()); err != nil || n != 0 {
			t.Fatalf("refused restores left %d tables (%v)", n, err)
		}
	}
}
