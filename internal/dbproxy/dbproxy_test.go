package dbproxy_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"ecode/internal/dbproxy"
	"ecode/internal/projectdb"
	"ecode/internal/sandbox"
	"ecode/internal/testutil"
	"ecode/internal/testutil/testdb"
)

// TestSandboxReachesOnlyItsDatabase runs psql inside a real sandbox against
// a real PostgreSQL server through the proxy.
func TestSandboxReachesOnlyItsDatabase(t *testing.T) {
	admin := os.Getenv(testdb.PostgresURLEnv)
	if admin == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required in CI", testdb.PostgresURLEnv)
		}
		t.Skipf("set %s to test the database proxy", testdb.PostgresURLEnv)
	}
	ctx := context.Background()
	b := make([]byte, 4)
	rand.Read(b)
	pg := &projectdb.PostgresServer{AdminURL: admin, Secret: []byte("test secret")}
	db := pg.Project("dbproxy" + hex.EncodeToString(b))
	if err := db.Create(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Drop(context.Background()) })
	u, _ := url.Parse(admin)

	proxy := dbproxy.New(u.Host, func(string) (string, string) { return db.Name, db.Name },
		sandbox.ListenInNetns, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer proxy.Close()
	sb := sandbox.NewLocal(sandbox.Options{StateDir: testutil.TraversableTempDir(t),
		CgroupPrefix: "ecode-dbproxy-" + hex.EncodeToString(b), NetworkSetup: proxy.Setup})
	defer sb.Close()
	testutil.RequireSandbox(t, sb)
	ws, err := sb.Workspace(ctx, "p", sandbox.Spec{Dir: testutil.TraversableTempDir(t), UID: 1999998,
		Limits: sandbox.Limits{MemoryBytes: 256 << 20, MaxProcs: 64}})
	if err != nil {
		t.Fatal(err)
	}
	inside, _ := url.Parse(db.URL())
	inside.Host = dbproxy.Addr
	psql := func(conn, sql string) sandbox.Result {
		res, err := ws.Exec(ctx, sandbox.Cmd{Args: []string{"psql", conn, "-At", "-c", sql}, Timeout: 20 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := psql(inside.String(), "create table notes (body text); insert into notes values ('hi'); select count(*) from notes")
	lines := strings.Fields(string(res.Stdout))
	if res.ExitCode != 0 || len(lines) == 0 || lines[len(lines)-1] != "1" {
		t.Fatalf("own database: exit %d, %s %s", res.ExitCode, res.Stdout, res.Stderr)
	}
	// The server's own database, as the superuser: refused by the proxy.
	other := *inside
	other.User = url.User(u.User.Username())
	other.Path = u.Path
	res = psql(other.String(), "select 1")
	if res.ExitCode == 0 || !strings.Contains(string(res.Stderr), "only connect to its project's database") {
		t.Fatalf("another database: exit %d, %s %s", res.ExitCode, res.Stdout, res.Stderr)
	}
}
