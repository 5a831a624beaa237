package checkpoint

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"ecode/internal/projectdb"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"ecode/internal/testutil/testdb"
)

// crashConf tells the child process what to do.
type crashConf struct {
	Op         string // "restore" or "create"
	Objects    string // the DirStore's folder, or with S3 the bucket
	S3         string // set: the objects are on this S3 endpoint
	Dir        string
	DB         string // SQLite path, or the PostgreSQL project name
	PGAdmin    string // set: DB is on PostgreSQL
	PGSecret   []byte
	Checkpoint Checkpoint
	KillAt     int // SIGKILL itself at this file operation
}

// TestCrashChild is the child process of the crash tests: it runs one
// create or restore and kills itself (kill -9) at the chosen operation.
func TestCrashChild(t *testing.T) {
	conf := os.Getenv("ECODE_CHECKPOINT_CRASH_CHILD")
	if conf == "" {
		t.Skip("only run as the crash tests' child process")
	}
	var c crashConf
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(b, &c)
	var ops atomic.Int64
	hook = func(string) {
		if ops.Add(1) == int64(c.KillAt) {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
	ctx := context.Background()
	objects, err := openCrashObjects(ctx, c.S3, c.Objects)
	if err != nil {
		t.Fatal(err)
	}
	repo := NewRepo(objects)
	switch c.Op {
	case "restore":
		_, err = repo.Restore(ctx, c.Dir, c.Checkpoint, RestoreOptions{DB: c.projectDB(), Note: "B", Finish: finishMark(c.Dir)})
	case "create":
		_, err = repo.Create(ctx, c.Dir, CreateOptions{DB: c.projectDB()})
	case "gc":
		_, err = repo.GC(ctx, func(ctx context.Context, fn func(Refs) error) error { return fn(c.Checkpoint.Refs()) }, GCOptions{Grace: -time.Hour})
	case "recover":
		_, _, err = repo.RecoverWith(ctx, c.Dir, RecoverOptions{DB: c.projectDB(), Finish: finishMark(c.Dir)})
	}
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("COMPLETED after %d operations\n", ops.Load())
}

// finishMark is a restore's Finish step that leaves a file beside dir
// saying it ran (and with which note).
func finishMark(dir string) func(context.Context, string) error {
	return func(_ context.Context, note string) error {
		return os.WriteFile(dir+".finished", []byte(note), 0o600)
	}
}

// runChild runs the child; it reports whether the operation completed
// (false: it was killed).
func runChild(t *testing.T, c crashConf) bool {
	t.Helper()
	b, _ := json.Marshal(c)
	conf := filepath.Join(t.TempDir(), "conf.json")
	os.WriteFile(conf, b, 0o600)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "ECODE_CHECKPOINT_CRASH_CHILD="+conf)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err == nil {
		if !strings.Contains(out.String(), "COMPLETED") {
			t.Fatalf("child passed without running:\n%s", out.String())
		}
		return true
	}
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return false
		}
	}
	t.Fatalf("child failed: %v\n%s", err, out.String())
	return false
}

func (c crashConf) projectDB() projectdb.DB {
	if c.PGAdmin != "" {
		return (&projectdb.PostgresServer{AdminURL: c.PGAdmin, Secret: c.PGSecret, Hook: func(op string) { hook(op) }}).Project(c.DB)
	}
	return &projectdb.SQLiteDB{Path: c.DB}
}

func openDB(t *testing.T, db projectdb.DB) *sql.DB {
	t.Helper()
	var c *sql.DB
	var err error
	switch d := db.(type) {
	case *projectdb.SQLiteDB:
		c, err = sql.Open("sqlite", "file:"+d.Path)
	case *projectdb.PostgresDB:
		c, err = sql.Open("pgx", d.URL())
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func todoRows(t *testing.T, pdb projectdb.DB) []string {
	t.Helper()
	db := openDB(t, pdb)
	defer db.Close()
	r, err := db.Query(`SELECT title FROM todo ORDER BY id`)
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

func sqlExec(t *testing.T, pdb projectdb.DB, qs ...string) {
	t.Helper()
	db := openDB(t, pdb)
	defer db.Close()
	for _, q := range qs {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// crashFixture makes two checkpoints A and B of a project with a database.
type crashFixture struct {
	engine       string // "sqlite" or "postgres"
	pg           *projectdb.PostgresServer
	prefix       string
	repo         *Repo
	objects      string // folder, or bucket when s3 is set
	s3           string // S3 endpoint of the objects, or ""
	cpA, cpB     Checkpoint
	treeA, treeB map[string]string
	rowsA, rowsB []string
	base         string
}

var stateA = map[string]string{
	"README.md":            "# app\n",
	"src/main.py":          "print('a')\n",
	"src/lib/util.py":      "def u(): pass\n",
	"src/lib/gone.py":      "gone in B\n",
	"becomes_file/x.txt":   "a dir in A\n",
	"link":                 "->src/main.py",
	"requirements.txt":     "flask==2\n",
	"assets/":              "",
	"docs/guide/intro.md":  "unchanged\n",
	"docs/guide/img/a.txt": "unchanged\n",
	"docs-x/a.md":          "unchanged\n",
}

var stateB = map[string]string{
	"README.md":        "# app, version B\n",
	"src/main.py":      "print('b')\n",
	"src/lib/util.py":  "def u(): pass\n",
	"src/new.py":       "new in B\n",
	"becomes_file":     "a file in B\n",
	"link":             "->README.md",
	"requirements.txt": "flask==3\n",
	"deep/a/b/c.txt":   "deep\n",
	"assets/":          "",
}

// db names a project database of the fixture's engine, dropped after the test.
func (f *crashFixture) db(t *testing.T, name string) (projectdb.DB, crashConf) {
	if f.pg == nil {
		p := filepath.Join(f.base, name+".db")
		return &projectdb.SQLiteDB{Path: p}, crashConf{DB: p}
	}
	d := f.pg.Project(f.prefix + name)
	t.Cleanup(func() { d.Drop(context.Background()) })
	return d, crashConf{DB: f.prefix + name, PGAdmin: f.pg.AdminURL, PGSecret: f.pg.Secret}
}

func newCrashFixture(t *testing.T, engine string) *crashFixture {
	return newCrashFixtureOn(t, engine, "")
}

// newCrashFixtureOn is newCrashFixture with the objects on an S3 endpoint
// (s3 set) or in a folder.
func newCrashFixtureOn(t *testing.T, engine, s3 string) *crashFixture {
	ctx := context.Background()
	f := &crashFixture{base: t.TempDir(), engine: engine, s3: s3}
	if engine == "postgres" {
		base := os.Getenv(testdb.PostgresURLEnv)
		if base == "" {
			if os.Getenv("CI") != "" || os.Getenv("ECODE_REQUIRE_POSTGRES") != "" {
				t.Fatalf("%s is not set: CI must test PostgreSQL", testdb.PostgresURLEnv)
			}
			t.Skipf("PostgreSQL not tested: set %s", testdb.PostgresURLEnv)
		}
		b := make([]byte, 4)
		rand.Read(b)
		f.pg = &projectdb.PostgresServer{AdminURL: base, Secret: b}
		f.prefix = "crash" + hex.EncodeToString(b)
	}
	f.objects = filepath.Join(f.base, "objects")
	if s3 != "" {
		f.objects = "crash-fixture"
	}
	objects, err := openCrashObjects(ctx, s3, f.objects)
	if err != nil {
		t.Fatal(err)
	}
	f.repo = NewRepo(objects)
	dir := filepath.Join(f.base, "work")
	db, _ := f.db(t, "work")
	if err := db.Create(ctx); err != nil {
		t.Fatal(err)
	}
	write(t, dir, stateA)
	os.Chmod(filepath.Join(dir, "src/main.py"), 0o755)
	sqlExec(t, db, `CREATE TABLE todo (id INTEGER PRIMARY KEY, title TEXT)`, `INSERT INTO todo VALUES (1, 'a1'), (2, 'a2')`)
	f.treeA, f.rowsA = dirTree(t, dir), todoRows(t, db)
	if f.cpA, err = f.repo.Create(ctx, dir, CreateOptions{DB: db}); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(dir, "src/lib/gone.py"))
	os.RemoveAll(filepath.Join(dir, "becomes_file"))
	write(t, dir, stateB)
	sqlExec(t, db, `INSERT INTO todo VALUES (3, 'b3')`, `DELETE FROM todo WHERE id = 1`)
	f.treeB, f.rowsB = dirTree(t, dir), todoRows(t, db)
	if f.cpB, err = f.repo.Create(ctx, dir, CreateOptions{DB: db}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *crashFixture) refs() RefLister {
	return func(ctx context.Context, fn func(Refs) error) error {
		if err := fn(f.cpA.Refs()); err != nil {
			return err
		}
		return fn(f.cpB.Refs())
	}
}

func (f *crashFixture) fsck(t *testing.T) {
	t.Helper()
	rep, err := f.repo.Fsck(context.Background(), f.refs())
	if err != nil || !rep.OK() {
		t.Fatalf("fsck: %+v %v", rep, err)
	}
}

// TestCrashDuringRestore kills a restore (kill -9) after each of its file
// operations in turn; after Recover the project is exactly the old state or
// exactly the new one, files and database alike, even when the recovery
// is killed too.
func TestCrashDuringRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary many times")
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) { crashDuringRestore(t, engine) })
	}
}

func crashDuringRestore(t *testing.T, engine string) {
	ctx := context.Background()
	f := newCrashFixture(t, engine)
	sawOld, sawNew := false, false
	recoveriesKilled := 0
	for n := 1; ; n++ {
		if n > 200 {
			t.Fatal("restore never completed")
		}
		// A project at state A, with an ignored folder to carry over.
		dir := filepath.Join(f.base, fmt.Sprintf("p%d", n))
		db, dbConf := f.db(t, fmt.Sprintf("p%d", n))
		if err := db.Create(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := f.repo.Restore(ctx, dir, f.cpA, RestoreOptions{DB: db}); err != nil {
			t.Fatal(err)
		}
		write(t, dir, map[string]string{"node_modules/m/index.js": "dep\n", "docs/node_modules/d.js": "dep\n"})
		conf := dbConf
		conf.Op, conf.Objects, conf.Dir, conf.Checkpoint, conf.KillAt = "restore", f.objects, dir, f.cpB, n
		completed := runChild(t, conf)
		// Recovery itself is killed at its first file operation, then rerun.
		conf.Op, conf.KillAt = "recover", 1
		if !completed && !runChild(t, conf) {
			recoveriesKilled++
		}
		rec, _, err := f.repo.RecoverWith(ctx, dir, RecoverOptions{DB: db, Finish: finishMark(dir)})
		if err != nil {
			t.Fatalf("kill at %d: recover: %v", n, err)
		}
		note, _ := os.ReadFile(dir + ".finished")
		got, rows := dirTree(t, dir), todoRows(t, db)
		if got["node_modules/m/index.js"] != "file 644 dep\n" || got["docs/node_modules/d.js"] != "file 644 dep\n" {
			t.Errorf("kill at %d (%s): node_modules lost", n, rec)
		}
		for k := range got {
			if strings.Contains(k, "node_modules") {
				delete(got, k)
			}
		}
		var want Checkpoint
		switch {
		case cmp.Equal(got, f.treeA) && cmp.Equal(rows, f.rowsA):
			sawOld, want = true, f.cpA
		case cmp.Equal(got, f.treeB) && cmp.Equal(rows, f.rowsB):
			sawNew, want = true, f.cpB
		default:
			t.Fatalf("kill at %d (%s): mixed state: rows %v\nvs A:%s\nvs B:%s", n, rec, rows, cmp.Diff(f.treeA, got), cmp.Diff(f.treeB, got))
		}
		if (want.Manifest == f.cpB.Manifest) != (string(note) == "B") {
			t.Fatalf("kill at %d (%s): the state is %s but the Finish step ran: %q", n, rec, want.Manifest, note)
		}
		if completed && want.Manifest != f.cpB.Manifest {
			t.Fatal("completed restore left the old state")
		}
		if es, _ := os.ReadDir(stateDir(dir)); len(es) > 3 { // index, lock (and nothing else)
			t.Errorf("kill at %d: leftovers in the state dir: %v", n, es)
		}
		f.fsck(t)
		// The stat cache left behind is right: a new checkpoint matches.
		cp, err := f.repo.Create(ctx, dir, CreateOptions{})
		if err != nil || cp.Manifest != want.Manifest {
			t.Fatalf("kill at %d: checkpoint after recovery = %s, %v; want %s", n, cp.Manifest, err, want.Manifest)
		}
		if completed {
			t.Logf("restore has %d file operations; killed after each of the first %d; %d recoveries killed too", n, n-1, recoveriesKilled)
			break
		}
	}
	if !sawOld || !sawNew {
		t.Errorf("saw old %v, new %v: the kills did not cover both sides of the switch", sawOld, sawNew)
	}
}

// TestCrashDuringCreate kills a checkpoint while it stores objects; the
// project is untouched, the store consistent, and the next checkpoint right.
func TestCrashDuringCreate(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary many times")
	}
	forEachCrashBackend(t, testCrashDuringCreate)
}

func testCrashDuringCreate(t *testing.T, s3 string) {
	ctx := context.Background()
	f := newCrashFixtureOn(t, "sqlite", s3)
	dir := filepath.Join(f.base, "c")
	db, dbConf := f.db(t, "c")
	if _, err := f.repo.Restore(ctx, dir, f.cpB, RestoreOptions{DB: db}); err != nil {
		t.Fatal(err)
	}
	for n := 1; ; n++ {
		if n > 200 {
			t.Fatal("create never completed")
		}
		write(t, dir, map[string]string{"src/main.py": fmt.Sprintf("print(%d)\n", n), fmt.Sprintf("gen/f%d.txt", n): "x\n"})
		before := dirTree(t, dir)
		conf := dbConf
		conf.Op, conf.Objects, conf.S3, conf.Dir, conf.KillAt = "create", f.objects, f.s3, dir, n
		completed := runChild(t, conf)
		if rec, err := f.repo.Recover(ctx, dir, db); err != nil || rec != NothingToRecover {
			t.Fatalf("kill at %d: recover = %s, %v", n, rec, err)
		}
		if diff := cmp.Diff(before, dirTree(t, dir)); diff != "" {
			t.Fatalf("kill at %d: create changed the project:\n%s", n, diff)
		}
		f.fsck(t)
		_, want, err := scanDir(ctx, dir, nil, NewIgnore(nil), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := f.repo.Create(ctx, dir, CreateOptions{})
		if err != nil || cp.Manifest != want {
			t.Fatalf("kill at %d: next checkpoint %s, %v; want %s", n, cp.Manifest, err, want)
		}
		fork := filepath.Join(f.base, fmt.Sprintf("fork%d", n))
		if _, err := f.repo.Restore(ctx, fork, cp, RestoreOptions{}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(before, dirTree(t, fork)); diff != "" {
			t.Fatalf("kill at %d: checkpoint does not restore:\n%s", n, diff)
		}
		if completed {
			t.Logf("create has %d file operations; killed after each of the first %d", n, n-1)
			break
		}
	}
}

// TestCrashDuringGC kills collections (which delete and repack) at each
// step: what the kept checkpoint needs is always readable and whole.
func TestCrashDuringGC(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary many times")
	}
	forEachCrashBackend(t, testCrashDuringGC)
}

func testCrashDuringGC(t *testing.T, s3 string) {
	ctx := context.Background()
	base := t.TempDir()
	dir := filepath.Join(base, "p")
	for i := range 70 {
		write(t, dir, map[string]string{fmt.Sprintf("k/%d.txt", i): fmt.Sprint("kept ", i)})
	}
	for n := 1; ; n++ {
		if n > 100 {
			t.Fatal("gc never completed")
		}
		// A fresh store each round: garbage, loose objects to pack, and an
		// older pack with garbage in it.
		objDir := filepath.Join(base, fmt.Sprintf("o%d", n))
		if s3 != "" {
			objDir = fmt.Sprintf("crash-gc-%d", n)
		}
		objects, err := openCrashObjects(ctx, s3, objDir)
		if err != nil {
			t.Fatal(err)
		}
		repo := NewRepo(objects)
		write(t, dir, map[string]string{"x.txt": "garbage 1"})
		first, err := repo.Create(ctx, dir, CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := repo.GC(ctx, func(ctx context.Context, fn func(Refs) error) error { return fn(first.Refs()) }, GCOptions{Grace: -time.Hour}); err != nil {
			t.Fatal(err)
		}
		write(t, dir, map[string]string{"x.txt": "garbage 2"})
		if _, err := repo.Create(ctx, dir, CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for i := range 70 {
			write(t, dir, map[string]string{fmt.Sprintf("n/%d.txt", i): fmt.Sprint("new ", i)})
		}
		os.Remove(filepath.Join(dir, "x.txt"))
		keep, err := repo.Create(ctx, dir, CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		completed := runChild(t, crashConf{Op: "gc", Objects: objDir, S3: s3, Checkpoint: keep, KillAt: n})
		only := func(ctx context.Context, fn func(Refs) error) error { return fn(keep.Refs()) }
		repo = NewRepo(objects)
		if rep, err := repo.Fsck(ctx, only); err != nil || !rep.OK() {
			t.Fatalf("kill at %d: fsck: %+v %v", n, rep, err)
		}
		fork := filepath.Join(base, fmt.Sprintf("f%d", n))
		if _, err := repo.Restore(ctx, fork, keep, RestoreOptions{}); err != nil {
			t.Fatalf("kill at %d: %v", n, err)
		}
		if diff := cmp.Diff(dirTree(t, dir), dirTree(t, fork)); diff != "" {
			t.Fatalf("kill at %d: restore differs:\n%s", n, diff)
		}
		// And a later collection finishes the job.
		if _, err := repo.GC(ctx, only, GCOptions{Grace: -time.Hour}); err != nil {
			t.Fatalf("kill at %d: gc after: %v", n, err)
		}
		if rep, err := repo.Fsck(ctx, only); err != nil || !rep.OK() {
			t.Fatalf("kill at %d: fsck after gc: %+v %v", n, rep, err)
		}
		if completed {
			t.Logf("gc has %d operations; killed after each of the first %d", n, n-1)
			break
		}
	}
}
