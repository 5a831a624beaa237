package api_test

import (
	"context"
	"database/sql"
	"ecode/internal/config"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"ecode/internal/store"
	"ecode/internal/testutil"
	"ecode/internal/testutil/testdb"
)

// TestProjectPostgresDatabase gives projects PostgreSQL databases: the app
// reaches its own through DATABASE_URL from inside the sandbox, checkpoints
// capture it and restores bring its rows back.
func TestProjectPostgresDatabase(t *testing.T) {
	admin := os.Getenv(testdb.PostgresURLEnv)
	if admin == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required in CI", testdb.PostgresURLEnv)
		}
		t.Skipf("set %s to test PostgreSQL project databases", testdb.PostgresURLEnv)
	}
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite), testutil.ServerOptions{
		Config: func(c *config.Config) { c.ProjectDBURL = admin }})
	testutil.RequireSandbox(t, testutil.NewSandbox(t))
	c := srv.User(t, "pg")
	ctx := context.Background()
	p, err := c.CreateProject(ctx, "pg", "blank")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.DBs.Drop(context.Background(), p.ID) })
	psql := func(sql string) string {
		body, _ := json.Marshal(map[string]any{"command": `psql "$DATABASE_URL" -At -c ` + shellQuote(sql)})
		var res struct {
			ExitCode       int `json:"exit_code"`
			Stdout, Stderr string
		}
		if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/exec", strings.NewReader(string(body)), "application/json", &res); err != nil {
			t.Fatal(err)
		}
		if res.ExitCode != 0 {
			t.Fatalf("psql %q: %s", sql, res.Stderr)
		}
		f := strings.Fields(res.Stdout)
		if len(f) == 0 {
			return ""
		}
		return f[len(f)-1]
	}
	psql("create table notes (body text); insert into notes values ('one')")
	var cp checkpointJSON
	if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/checkpoints", strings.NewReader(`{"message":"one row"}`), "application/json", &cp); err != nil {
		t.Fatal(err)
	}
	psql("insert into notes values ('two')")
	if got := psql("select count(*) from notes"); got != "2" {
		t.Fatalf("rows before restore: %s", got)
	}
	if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/checkpoints/"+cp.ID+"/restore", strings.NewReader(`{"database":true}`), "application/json", nil); err != nil {
		t.Fatal(err)
	}
	if got := psql("select count(*) from notes"); got != "1" {
		t.Fatalf("rows after restore: %s, want 1", got)
	}
	// Deleting the project drops its database and role.
	if err := c.Do(ctx, "DELETE", "/api/projects/"+p.ID, nil, "", nil); err != nil {
		t.Fatal(err)
	}
	adminDB, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer adminDB.Close()
	var n int
	if err := adminDB.QueryRowContext(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, srv.DBs.Role(p.ID)).Scan(&n); err != nil || n != 0 {
		t.Errorf("the deleted project's database is still there: %d, %v", n, err)
	}
}
