package checkpoint

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"ecode/internal/projectdb"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"ecode/internal/store"
	"ecode/internal/testutil/testdb"
)

func TestProjectDBSQLite(t *testing.T) {
	st := testdb.NewStore(t, store.SQLite)
	db := &projectdb.SQLiteDB{Path: filepath.Join(t.TempDir(), "data", "app.db")}
	open := func() *sql.DB {
		c, err := sql.Open("sqlite", "file:"+strings.TrimPrefix(db.URL(), "sqlite:")+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	dbScenario(t, st, db, open)
	if err := db.Drop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(db.Path); !os.IsNotExist(err) {
		t.Errorf("dropped database still there: %v", err)
	}
}

func TestProjectDBPostgres(t *testing.T) {
	base := os.Getenv(testdb.PostgresURLEnv)
	if base == "" {
		if os.Getenv("CI") != "" || os.Getenv("ECODE_REQUIRE_POSTGRES") != "" {
			t.Fatalf("%s is not set: CI must test PostgreSQL", testdb.PostgresURLEnv)
		}
		t.Skipf("PostgreSQL not tested: set %s", testdb.PostgresURLEnv)
	}
	st := testdb.NewStore(t, store.SQLite)
	b := make([]byte, 6)
	rand.Read(b)
	srv := &projectdb.PostgresServer{AdminURL: base, Secret: b}
	db := srv.Project("test-" + hex.EncodeToString(b))
	t.Cleanup(func() {
		if err := db.Drop(context.Background()); err != nil {
			t.Errorf("drop: %v", err)
		}
	})
	open := func() *sql.DB {
		c, err := sql.Open("pgx", db.URL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	dbScenario(t, st, db, open)
	// The role's password opens only its own database.
	other := srv.Project("someone-else")
	if other.Name == db.Name || other.URL() == db.URL() {
		t.Error("projects share a database")
	}
}

// dbScenario: the app writes rows, a checkpoint captures them (not an
// uncommitted transaction), later rows are lost on restore, and a restore of
// a restore works.
func dbScenario(t *testing.T, st *store.Store, db projectdb.DB, open func() *sql.DB) {
	ctx := context.Background()
	e := newEnv(t, st, openDirObjects(t))
	if err := db.Create(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Create(ctx); err != nil {
		t.Fatalf("create is not idempotent: %v", err)
	}
	// An empty database round-trips.
	var empty bytes.Buffer
	if err := db.Snapshot(ctx, &empty); err != nil {
		t.Fatalf("snapshot of an empty database: %v", err)
	}
	if err := db.Restore(ctx, &empty); err != nil {
		t.Fatalf("restore of an empty database: %v", err)
	}
	app := open()
	exec := func(c *sql.DB, q string) {
		t.Helper()
		if _, err := c.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	rows := func(c *sql.DB) []string {
		t.Helper()
		r, err := c.QueryContext(ctx, `SELECT title FROM todo ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var out []string
		for r.Next() {
			var s string
			r.Scan(&s)
			out = append(out, s)
		}
		return out
	}
	exec(app, `CREATE TABLE todo (id INTEGER PRIMARY KEY, title TEXT NOT NULL)`)
	exec(app, `INSERT INTO todo (id, title) VALUES (1, 'a'), (2, 'b'), (3, 'c')`)
	write(t, e.dir, map[string]string{"app.py": "v1\n"})

	// An open transaction of the app is not part of the snapshot.
	tx, err := app.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO todo (id, title) VALUES (99, 'uncommitted')`); err != nil {
		t.Fatal(err)
	}
	id1, cp1 := e.checkpoint("p1", e.dir, "with three rows", db)
	tx.Rollback()
	if cp1.DB == "" || !cmp.Equal(cp1.Metrics.DBTables, map[string]int64{"todo": 3}) {
		t.Fatalf("checkpoint db = %q, tables %v", cp1.DB, cp1.Metrics.DBTables)
	}

	exec(app, `INSERT INTO todo (id, title) VALUES (4, 'd'), (5, 'e')`)
	exec(app, `CREATE TABLE later (x INTEGER)`)
	write(t, e.dir, map[string]string{"app.py": "v2\n"})
	d, err := e.repo.Diff(ctx, Source{Checkpoint: &cp1}, Source{Dir: e.dir, DB: db}, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantTables := []TableDiff{{Table: "later", Status: Added}, {Table: "todo", Status: Modified, OldRows: 3, NewRows: 5}}
	if diff := cmp.Diff(wantTables, d.Tables); diff != "" {
		t.Errorf("table diff (-want +got):\n%s", diff)
	}

	res, err := e.repo.Restore(ctx, e.dir, e.get("p1", id1), RestoreOptions{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	if !res.DBRestored {
		t.Error("database not restored")
	}
	app = open() // PostgreSQL ended the app's sessions
	if got := rows(app); !cmp.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("rows after restore = %v", got)
	}
	if tables, _ := db.Tables(ctx); !cmp.Equal(tables, map[string]int64{"todo": 3}) {
		t.Errorf("tables after restore = %v", tables)
	}
	if b, _ := os.ReadFile(filepath.Join(e.dir, "app.py")); string(b) != "v1\n" {
		t.Errorf("app.py = %q", b)
	}

	// Restore of a restore.
	id2, _ := e.checkpoint("p1", e.dir, "restored", db)
	exec(app, `INSERT INTO todo (id, title) VALUES (6, 'f')`)
	if _, err := e.repo.Restore(ctx, e.dir, e.get("p1", id2), RestoreOptions{DB: db}); err != nil {
		t.Fatal(err)
	}
	app = open()
	if got := rows(app); !cmp.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("rows after restoring the restore = %v", got)
	}
	e.fsck()
}
