package app_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"ecode/internal/agent/fake"
	"ecode/internal/app"
	"ecode/internal/client"
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

// seeded is a service with what a restore must bring back.
type seeded struct {
	srv         *testutil.Server
	c           *client.Client
	projectID   string
	cp1         string // the checkpoint of main.py v1, before the agent's turn
	dir, store  string // data dir and store URL
	config      func(*config.Config)
	releaseFile string // a deployment's file, relative to the data dir
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// seedService builds a service with a user, a project with files, a
// project database row, a secret, a checkpoint, an agent turn (which ends
// with its own checkpoint) and a deployment's release folder.
func seedService(t *testing.T, e backupEnv) *seeded {
	ctx := context.Background()
	fk := fake.NewAnthropic(&fake.Transcript{Name: "backup", Steps: []fake.Step{
		{Expect: &fake.Expect{LastUserText: "write the notes"}, Respond: fake.Respond{StopReason: "tool_use", Content: []fake.Content{
			fake.Tool("write", map[string]string{"file_path": "notes.md", "content": "# Notes by the agent\n"})}}},
		{Expect: &fake.Expect{AnyResultContains: "notes.md"}, Respond: fake.Respond{StopReason: "end_turn", Content: []fake.Content{
			fake.Text("The notes are written.")}}},
	}})
	t.Cleanup(fk.Close)
	sd := &seeded{dir: testutil.TraversableTempDir(t), store: e.storeURL}
	if e.engine == store.SQLite {
		sd.store = filepath.Join(sd.dir, "ecode.db")
	}
	st := openStore(t, sd.store)
	must(t, st.Migrate(ctx))
	sd.config = func(c *config.Config) {
		e.config(c)
		c.AnthropicAPIKey, c.AnthropicBaseURL = "test-key", fk.URL
	}
	sd.srv = testutil.NewServer(t, st, testutil.ServerOptions{Dir: sd.dir, Config: sd.config})
	sd.c = sd.srv.User(t, "owner")
	p, err := sd.c.CreateProject(ctx, "kept", "")
	must(t, err)
	sd.projectID = p.ID
	if e.admin != "" {
		t.Cleanup(func() { sd.srv.DBs.Drop(context.Background(), p.ID) })
	}
	c, base := sd.c, "/api/projects/"+p.ID
	must(t, c.WriteFile(ctx, p.ID, "main.py", []byte("print('v1')\n")))
	dbURL := sd.srv.DBs.DB(p.ID).URL()
	projectSQL(t, dbURL, `CREATE TABLE kept (v TEXT)`)
	projectSQL(t, dbURL, `INSERT INTO kept VALUES ('row one')`)
	if e.admin != "" { // a deployment's production database: a copy of the development one, and a row of its own
		must(t, sd.srv.DBs.CreateProduction(ctx, p.ID, true))
		projectSQL(t, sd.srv.DBs.ProductionDB(p.ID).URL(), `INSERT INTO kept VALUES ('production row')`)
	}
	must(t, c.Do(ctx, "PUT", base+"/secrets/API_TOKEN", strings.NewReader(`{"value":"s3cret-token-value"}`), "application/json", nil))
	var cp1 struct{ ID string }
	must(t, c.Do(ctx, "POST", base+"/checkpoints", strings.NewReader(`{"message":"v1"}`), "application/json", &cp1))
	sd.cp1 = cp1.ID
	resp, err := c.Raw(ctx, "POST", base+"/agent/turns", strings.NewReader(`{"prompt":"please write the notes"}`), "application/json")
	must(t, err)
	io.Copy(io.Discard, resp.Body) // the whole turn
	resp.Body.Close()
	must(t, c.WriteFile(ctx, p.ID, "main.py", []byte("print('v2')\n")))
	// A release's folder (a published app's build) stands for the deployments.
	sd.releaseFile = filepath.Join("deployments", p.ID, "rel1", "app", "index.html")
	must(t, os.MkdirAll(filepath.Dir(filepath.Join(sd.dir, sd.releaseFile)), 0o755))
	must(t, os.WriteFile(filepath.Join(sd.dir, sd.releaseFile), []byte("<h1>published</h1>"), 0o644))
	return sd
}

// backupUnderLoad runs ecode backup --include-key while a client keeps
// writing files through the API, and returns the archive.
func backupUnderLoad(t *testing.T, e backupEnv, sd *seeded, passFile string) string {
	ctx := context.Background()
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
			if err := sd.c.WriteFile(ctx, sd.projectID, fmt.Sprintf("load/%d.txt", i), []byte(fmt.Sprint(i))); err != nil {
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
	out, err := main(t, append([]string{"backup", "--out", archive, "--include-key", "--passphrase-file", passFile}, e.flags(sd.dir, sd.store)...)...)
	close(stop)
	writes := <-done
	must(t, err)
	t.Logf("%s(%d writes by the client while it ran)", out, writes)
	return archive
}

// A backup taken while a client writes files, restored onto an empty data
// directory and a fresh database, brings back the accounts, the project's
// files, database, secrets, checkpoints and agent history, and the project
// runs in the sandbox; corrupt or truncated archives are refused before
// anything is written.
func TestBackupWhileServingThenRestore(t *testing.T) {
	backupEngines(t, func(t *testing.T, e backupEnv) {
		sd := seedService(t, e)
		pf := filepath.Join(t.TempDir(), "pass")
		os.WriteFile(pf, []byte(backupPassphrase+"\n"), 0o600)
		archive := backupUnderLoad(t, e, sd, pf)

		// The fresh machine: an empty data dir and database.
		dir2 := testutil.TraversableTempDir(t)
		store2 := filepath.Join(dir2, "ecode.db")
		restore := func(archive string, more ...string) (string, error) {
			return main(t, append(append([]string{"restore", archive}, more...), e.flags(dir2, store2)...)...)
		}
		if e.engine == store.Postgres {
			store2 = freshPostgresDB(t, sd.store)
			// The old service's project databases are still on that server: refused.
			if _, err := restore(archive, "--passphrase-file", pf); err == nil || !strings.Contains(err.Error(), "project databases already exist") {
				t.Fatalf("restore over existing project databases: %v", err)
			}
			sd.srv.DBs.Drop(context.Background(), sd.projectID) // the project database is gone too
		}
		good, _ := os.ReadFile(archive)
		flipped, truncated := bytes.Clone(good), good[:len(good)*2/3]
		flipped[len(flipped)/2] ^= 0x01
		for name, b := range map[string][]byte{"flipped": flipped, "truncated": truncated} {
			bad := filepath.Join(t.TempDir(), name+".tar.gz")
			os.WriteFile(bad, b, 0o600)
			_, err := restore(bad, "--passphrase-file", pf)
			if err == nil || !strings.Contains(err.Error(), "corrupt or truncated") {
				t.Fatalf("%s archive: %v", name, err)
			}
			t.Logf("%s archive refused: %v", name, err)
		}
		wrong := filepath.Join(t.TempDir(), "wrong")
		os.WriteFile(wrong, []byte("not the passphrase at all"), 0o600)
		if _, err := restore(archive, "--passphrase-file", wrong); err == nil || !strings.Contains(err.Error(), "passphrase") {
			t.Fatalf("wrong passphrase: %v", err)
		}
		assertEmpty(t, e, dir2, store2)

		out, err := restore(archive, "--passphrase-file", pf)
		must(t, err)
		t.Log(out)
		if _, err := restore(archive, "--passphrase-file", pf); err == nil || !strings.Contains(err.Error(), "not empty") {
			t.Fatalf("restore over a restored service: %v", err)
		}
		if b, err := os.ReadFile(filepath.Join(dir2, sd.releaseFile)); err != nil || string(b) != "<h1>published</h1>" {
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
		checkRestored(t, sd, dir2, store2)
	})
}

// checkRestored opens a server on the restored data: sign-in, files, the
// project database, the secret, the agent history, a checkpoint restore,
// and a run of the restored project in the sandbox.
func checkRestored(t *testing.T, sd *seeded, dir, storeURL string) {
	ctx := context.Background()
	srv2 := testutil.NewServer(t, openStore(t, storeURL), testutil.ServerOptions{Dir: dir, Config: sd.config})
	c2, id, base := srv2.Client(), sd.projectID, "/api/projects/"+sd.projectID
	if _, err := c2.Login(ctx, "owner@example.test", "correct horse battery"); err != nil {
		t.Fatalf("sign in on the restored service: %v", err)
	}
	for name, want := range map[string]string{"main.py": "print('v2')\n", "notes.md": "# Notes by the agent\n", "load/0.txt": "0"} {
		if got, err := c2.ReadFile(ctx, id, name); err != nil || string(got) != want {
			t.Fatalf("%s: %q, %v", name, got, err)
		}
	}
	if v := projectSQL(t, srv2.DBs.DB(id).URL(), `SELECT v FROM kept`); v != "row one" {
		t.Fatalf("project database: %q", v)
	}
	if srv2.DBs.Postgres() {
		if v := projectSQL(t, srv2.DBs.ProductionDB(id).URL(), `SELECT string_agg(v, ',' ORDER BY v) FROM kept`); v != "production row,row one" {
			t.Fatalf("production database: %q", v)
		}
	}
	var secret struct{ Value string }
	must(t, c2.Do(ctx, "POST", base+"/secrets/API_TOKEN/reveal", nil, "", &secret))
	if secret.Value != "s3cret-token-value" {
		t.Fatalf("secret %q", secret.Value)
	}
	var turns struct {
		Turns []struct{ Prompt, Status string }
	}
	must(t, c2.Do(ctx, "GET", base+"/agent/turns", nil, "", &turns))
	if len(turns.Turns) != 1 || turns.Turns[0].Prompt != "please write the notes" {
		t.Fatalf("agent history %+v", turns)
	}
	must(t, c2.Do(ctx, "POST", base+"/checkpoints/"+sd.cp1+"/restore", strings.NewReader(`{}`), "application/json", nil))
	if got, err := c2.ReadFile(ctx, id, "main.py"); err != nil || string(got) != "print('v1')\n" {
		t.Fatalf("main.py after restoring checkpoint v1: %q, %v", got, err)
	}
	if _, err := c2.ReadFile(ctx, id, "notes.md"); err == nil {
		t.Fatal("notes.md is still there after restoring the checkpoint before the agent wrote it")
	}
	testutil.RequireSandbox(t, testutil.NewSandbox(t)) // skips here, fails in CI (ECODE_REQUIRE_SANDBOX)
	if out := runToEnd(t, srv2, c2, id); !strings.Contains(out, "\nv1\n") || !strings.Contains(out, "exited with code 0") {
		t.Fatalf("the restored project's run printed %q, want v1 and exit code 0", out)
	}
}

// runToEnd runs the project through the API, waits on the runner's change
// notifications for it to exit, and returns its output.
func runToEnd(t *testing.T, srv *testutil.Server, c *client.Client, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	changed := srv.Runner.Changed()
	must(t, c.Do(ctx, "POST", "/api/projects/"+id+"/run", nil, "", nil))
	for {
		var st struct{ State string }
		must(t, c.Do(ctx, "GET", "/api/projects/"+id+"/run", nil, "", &st))
		if st.State == "exited" || st.State == "stopped" {
			break
		}
		select {
		case <-changed:
			changed = srv.Runner.Changed()
		case <-ctx.Done():
			t.Fatalf("the run never ended (last state %q)", st.State)
		}
	}
	// The output stream sends the whole log, then "caught-up".
	resp, err := c.Raw(ctx, "GET", "/api/projects/"+id+"/run/output", nil, "")
	must(t, err)
	defer resp.Body.Close()
	var out strings.Builder
	sc := bufio.NewScanner(resp.Body)
	event := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
			if event == "caught-up" {
				return out.String()
			}
		case event == "output" && strings.HasPrefix(line, "data: "):
			var d struct{ Data string }
			must(t, json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &d))
			out.WriteString(d.Data)
		}
	}
	t.Fatalf("the output stream ended before caught-up (%v): %q", sc.Err(), out.String())
	return ""
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
