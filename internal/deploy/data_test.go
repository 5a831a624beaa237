package deploy_test

import (
	"context"
	"strings"
	"testing"

	"ecode/internal/store"
	"ecode/internal/testutil"
)

const dbApp = `import http.server, os, sqlite3
path = os.environ["DATABASE_PATH"]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        c = sqlite3.connect(path)
        c.execute("create table if not exists visits(n integer)")
        c.execute("insert into visits values(1)")
        c.commit()
        n = c.execute("select count(*) from visits").fetchone()[0]
        has = c.execute("select count(*) from sqlite_master where name='seed'").fetchone()[0]
        seed = c.execute("select v from seed").fetchone()[0] if has else "none"
        body = ("seed=%s visits=%d" % (seed, n)).encode()
        self.send_response(200); self.end_headers(); self.wfile.write(body)
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`

const seedDev = `{"command":"mkdir -p .ecode && python3 -c \"import sqlite3; c=sqlite3.connect('.ecode/data.db'); c.execute('create table seed(v text)'); c.execute(\\\"insert into seed values('from-dev')\\\"); c.commit()\""}`

// TestProductionDatabase: the first publish makes the production database
// as a copy of the development one (or empty); later releases and a
// rollback keep its data; the development database is not touched.
func TestProductionDatabase(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		project := func(name string) string {
			p, err := e.c.CreateProject(ctx, name, "python")
			if err != nil {
				t.Fatal(err)
			}
			for n, body := range map[string]string{"app.py": dbApp, ".ecode.toml": "run = \"python3 app.py\"\n"} {
				if err := e.c.WriteFile(ctx, p.ID, n, []byte(body)); err != nil {
					t.Fatal(err)
				}
			}
			return p.ID
		}
		publish := func(projectID, body string) published {
			t.Helper()
			e.srv.Clock.Advance(1e9)
			var pub published
			if err := e.c.Do(ctx, "POST", "/api/projects/"+projectID+"/deployment/publish", strings.NewReader(body), "application/json", &pub); err != nil {
				t.Fatal(err)
			}
			if r := e.waitRelease(projectID, pub.Release.ID, "live", "failed"); r.Status != "live" {
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

		a := project("Copied data")
		var res struct {
			ExitCode int    `json:"exit_code"`
			Stderr   string `json:"stderr"`
		}
		if err := e.c.Do(ctx, "POST", "/api/projects/"+a+"/exec", strings.NewReader(seedDev), "application/json", &res); err != nil || res.ExitCode != 0 {
			t.Fatalf("seed the development database: %+v %v", res, err)
		}
		first := publish(a, `{"kind":"server","database":"copy"}`)
		get(first.URL, "seed=from-dev visits=1")
		get(first.URL, "seed=from-dev visits=2")
		publish(a, `{"database":"empty"}`) // the database exists: the choice is ignored
		get(first.URL, "seed=from-dev visits=3")
		if err := e.c.Do(ctx, "POST", "/api/projects/"+a+"/deployment/releases/"+first.Release.ID+"/activate", strings.NewReader(`{}`), "application/json", nil); err != nil {
			t.Fatal(err)
		}
		get(first.URL, "seed=from-dev visits=4")
		var dev struct {
			Stdout string `json:"stdout"`
		}
		count := `{"command":"python3 -c \"import sqlite3; print(sqlite3.connect('.ecode/data.db').execute(\\\"select count(*) from sqlite_master where name='visits'\\\").fetchone()[0])\""}`
		if err := e.c.Do(ctx, "POST", "/api/projects/"+a+"/exec", strings.NewReader(count), "application/json", &dev); err != nil || strings.TrimSpace(dev.Stdout) != "0" {
			t.Fatalf("the development database got production writes: %q %v", dev.Stdout, err)
		}

		b := project("Empty data")
		pb := publish(b, `{"kind":"server"}`)
		get(pb.URL, "seed=none visits=1")
	})
}
