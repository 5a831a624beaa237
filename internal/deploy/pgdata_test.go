package deploy_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"ecode/internal/config"
	"ecode/internal/store"
	"ecode/internal/testutil"
	"ecode/internal/testutil/testdb"
)

// pgApp counts visits in the database at $DATABASE_URL and shows the seed
// row the development database had at the first publish.
const pgApp = `import http.server, os, subprocess
def q(sql):
    return subprocess.run(["psql", os.environ["DATABASE_URL"], "-At", "-c", sql], capture_output=True, text=True, check=True).stdout.strip()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            q("create table if not exists visits(n int)")
            q("insert into visits values (1)")
            n = q("select count(*) from visits")
            has = q("select count(*) from information_schema.tables where table_name = 'seed'")
            seed = q("select v from seed limit 1") if has == "1" else "none"
            body, code = ("seed=%s visits=%s" % (seed, n)).encode(), 200
        except subprocess.CalledProcessError as e:
            body, code = e.stderr.encode(), 500
        self.send_response(code); self.end_headers(); self.wfile.write(body)
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`

// TestProductionPostgresDatabase: with PostgreSQL project databases the
// first publish makes a production database and role of their own, here a
// copy of the development database; the app reaches it through the proxy;
// its writes stay out of the development database; a later release keeps
// its data; deleting the project drops it.
func TestProductionPostgresDatabase(t *testing.T) {
	admin := os.Getenv(testdb.PostgresURLEnv)
	if admin == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required in CI", testdb.PostgresURLEnv)
		}
		t.Skipf("set %s to test PostgreSQL production databases", testdb.PostgresURLEnv)
	}
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite), testutil.ServerOptions{Config: func(c *config.Config) {
		c.DeployHealth = 20 * time.Second
		c.ProjectDBURL = admin
	}})
	testutil.RequireSandbox(t, testutil.NewSandbox(t))
	e := newEnvOn(t, srv)
	e.c = srv.User(t, "pgpublisher")
	ctx := context.Background()
	p, err := e.c.CreateProject(ctx, "pg prod", "python")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.DBs.Drop(context.Background(), p.ID) })
	for n, body := range map[string]string{"app.py": pgApp, ".ecode.toml": "run = \"python3 app.py\"\n"} {
		if err := e.c.WriteFile(ctx, p.ID, n, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	devSQL := func(sql string) string {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"command": `psql "$DATABASE_URL" -At -c "` + sql + `"`})
		var res struct {
			ExitCode       int `json:"exit_code"`
			Stdout, Stderr string
		}
		if err := e.c.Do(ctx, "POST", "/api/projects/"+p.ID+"/exec", strings.NewReader(string(body)), "application/json", &res); err != nil || res.ExitCode != 0 {
			t.Fatalf("psql %q in the workspace: %+v %v", sql, res, err)
		}
		return strings.TrimSpace(res.Stdout)
	}
	devSQL("create table seed(v text); insert into seed values ('from-dev')")
	publish := func(body string) published {
		t.Helper()
		e.srv.Clock.Advance(time.Second)
		var pub published
		if err := e.c.Do(ctx, "POST", "/api/projects/"+p.ID+"/deployment/publish", strings.NewReader(body), "application/json", &pub); err != nil {
			t.Fatal(err)
		}
		if r := e.waitRelease(p.ID, pub.Release.ID, "live", "failed"); r.Status != "live" {
			t.Fatalf("release: %+v", r)
		}
		return pub
	}
	get := func(url, want string) {
		t.Helper()
		if code, body := e.fetch(url, "/"); code != 200 || body != want {
			t.Fatalf("app answered %d %q, want %q", code, body, want)
		}
	}
	if ok, err := srv.DBs.ProductionExists(ctx, p.ID); err != nil || ok {
		t.Fatalf("production database before the first publish: %v %v", ok, err)
	}
	first := publish(`{"kind":"server","database":"copy"}`)
	get(first.URL, "seed=from-dev visits=1")
	get(first.URL, "seed=from-dev visits=2")
	if n := devSQL("select count(*) from information_schema.tables where table_name = 'visits'"); n != "0" {
		t.Fatalf("the development database got production's table (%s)", n)
	}
	devSQL("insert into seed values ('later')")
	second := publish(`{"database":"empty"}`) // the production database exists: kept as it is (and snapshotted: visits=2)
	get(first.URL, "seed=from-dev visits=3")

	// Release data snapshots: each publish dumped the production database
	// (the first right after copying the development one: no visits yet,
	// the second with two visits); activating one with restore_data brings
	// that data back (the app stopped during the swap, then started).
	activate := func(rid string) error {
		return e.c.Do(ctx, "POST", "/api/projects/"+p.ID+"/deployment/releases/"+rid+"/activate",
			strings.NewReader(`{"restore_data":true}`), "application/json", nil)
	}
	var rels struct {
		Releases []struct {
			ID           string `json:"id"`
			DataSnapshot bool   `json:"data_snapshot"`
		} `json:"releases"`
	}
	if err := e.c.Do(ctx, "GET", "/api/projects/"+p.ID+"/deployment", nil, "", &rels); err != nil || len(rels.Releases) != 2 ||
		rels.Releases[0].ID != second.Release.ID || !rels.Releases[0].DataSnapshot || !rels.Releases[1].DataSnapshot {
		t.Fatalf("releases' data snapshots: %+v %v", rels, err)
	}
	if err := activate(second.Release.ID); err != nil {
		t.Fatal(err)
	}
	get(first.URL, "seed=from-dev visits=3")
	if err := activate(first.Release.ID); err != nil {
		t.Fatal(err)
	}
	get(first.URL, "seed=from-dev visits=1")
	// The storage meter counts the production database beside the
	// development one (each at least PostgreSQL's few empty-database MB).
	if size, err := srv.DBs.Size(ctx, p.ID); err != nil || size < 2*6<<20 {
		t.Fatalf("database size %d (%v): want both databases counted", size, err)
	}
	var d struct {
		ProductionDatabase bool `json:"production_database"`
		DatabaseChoice     bool `json:"database_choice"`
	}
	if err := e.c.Do(ctx, "GET", "/api/projects/"+p.ID+"/deployment", nil, "", &d); err != nil || !d.ProductionDatabase || !d.DatabaseChoice {
		t.Fatalf("deployment: %+v %v", d, err)
	}

	if err := e.c.Do(ctx, "DELETE", "/api/projects/"+p.ID, nil, "", nil); err != nil {
		t.Fatal(err)
	}
	if ok, err := srv.DBs.ProductionExists(ctx, p.ID); err != nil || ok {
		t.Fatalf("production database after the project was deleted: %v %v", ok, err)
	}
}
