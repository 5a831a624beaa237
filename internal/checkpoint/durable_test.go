package checkpoint

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"ecode/internal/projectdb"
)

// TestStaleTemporaryObjects: what a killed Put left in tmp/ (a file no
// process holds locked) is removed when the store is opened and by GC; a
// Put in progress (its file locked) is left alone.
func TestStaleTemporaryObjects(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := NewDirStore(dir); err != nil {
		t.Fatal(err)
	}
	tmp := func(name string) string { return filepath.Join(dir, "tmp", name) }
	os.WriteFile(tmp("killed"), make([]byte, 1<<20), 0o600)
	busy, err := os.OpenFile(tmp("busy"), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if err := unix.Flock(int(busy.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	objects, err := NewDirStore(dir) // as at a restart
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp("killed")); !os.IsNotExist(err) {
		t.Fatalf("opening the store left a killed Put's file: %v", err)
	}
	if _, err := os.Stat(tmp("busy")); err != nil {
		t.Fatalf("opening the store removed a Put in progress: %v", err)
	}
	os.WriteFile(tmp("killed2"), []byte("x"), 0o600)
	if _, err := NewRepo(objects).GC(ctx, func(context.Context, func(Refs) error) error { return nil }, GCOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp("killed2")); !os.IsNotExist(err) {
		t.Fatalf("GC left a killed Put's file (young): %v", err)
	}
	if _, err := os.Stat(tmp("busy")); err != nil {
		t.Fatalf("GC removed a Put in progress: %v", err)
	}
}

// TestStoredBytes: a checkpoint records what it added to the store;
// an unchanged project's next checkpoint adds nothing.
func TestStoredBytes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, objects testObjects) { testStoredBytes(t, objects.ObjectStore) })
}

func testStoredBytes(t *testing.T, objects ObjectStore) {
	ctx := context.Background()
	repo := NewRepo(objects)
	defer repo.Close()
	dir := t.TempDir()
	write(t, dir, map[string]string{"a.txt": strings.Repeat("abc", 10000), "b/c.txt": "c"})
	first, err := repo.Create(ctx, dir, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if first.Metrics.StoredBytes <= 0 || first.Metrics.StoredBytes > 30000 {
		t.Fatalf("first checkpoint stored %d bytes", first.Metrics.StoredBytes)
	}
	again, err := repo.Create(ctx, dir, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Metrics.StoredBytes != 0 {
		t.Fatalf("unchanged checkpoint stored %d bytes", again.Metrics.StoredBytes)
	}
}

// TestCorruptDatabase: a database that cannot be read is left out of the
// checkpoint with the reason, and a restore puts the files back and says
// why the database could not be.
func TestCorruptDatabase(t *testing.T) {
	ctx := context.Background()
	objects, _ := NewDirStore(t.TempDir())
	repo := NewRepo(objects)
	defer repo.Close()
	base := t.TempDir()
	dir := filepath.Join(base, "p")
	db := &projectdb.SQLiteDB{Path: filepath.Join(base, "app.db")}
	if err := db.Create(ctx); err != nil {
		t.Fatal(err)
	}
	sqlExec(t, db, `CREATE TABLE todo (id INTEGER PRIMARY KEY, title TEXT)`, `INSERT INTO todo VALUES (1, 'a')`)
	write(t, dir, map[string]string{"app.txt": "good"})
	good, err := repo.Create(ctx, dir, CreateOptions{DB: db})
	if err != nil || good.DB == "" {
		t.Fatalf("checkpoint: %+v, %v", good, err)
	}
	os.WriteFile(db.Path, []byte(strings.Repeat("garbage ", 1000)), 0o644)
	write(t, dir, map[string]string{"app.txt": "bad"})
	bad, err := repo.Create(ctx, dir, CreateOptions{DB: db})
	if err != nil || bad.DB != "" || bad.Metrics.DBError == "" || bad.Manifest == "" {
		t.Fatalf("checkpoint of a corrupt database: DB %q, error %q, %v", bad.DB, bad.Metrics.DBError, err)
	}
	if d, err := repo.Diff(ctx, Source{Checkpoint: &good}, Source{Dir: dir, DB: db}, DiffOptions{}); err != nil || len(d.Files) != 1 {
		t.Fatalf("diff against a corrupt database: %+v, %v", d.Files, err)
	}
	res, err := repo.Restore(ctx, dir, good, RestoreOptions{DB: db})
	if err != nil {
		t.Fatalf("restore with a corrupt database: %v", err)
	}
	if res.DBRestored || res.DBError == "" {
		t.Fatalf("restore result %+v: want the database error", res)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "app.txt")); string(b) != "good" {
		t.Fatalf("app.txt = %q after the restore", b)
	}
	if Pending(dir) {
		t.Fatal("the journal outlived the restore")
	}
}

// TestRecoverFinishes: Recover rolls a committed restore forward through
// the database and the caller's Finish step, each once the one before it is
// done, and tells Finish the restore's note.
func TestRecoverFinishes(t *testing.T) {
	ctx := context.Background()
	f := newCrashFixture(t, "sqlite")
	dir := filepath.Join(f.base, "r")
	db, dbConf := f.db(t, "r")
	if err := db.Create(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.repo.Restore(ctx, dir, f.cpA, RestoreOptions{DB: db}); err != nil {
		t.Fatal(err)
	}
	// Kill the restore once its files are applied, before the database.
	conf := dbConf
	conf.Op, conf.Objects, conf.Dir, conf.Checkpoint = "restore", f.objects, dir, f.cpB
	for conf.KillAt = 1; ; conf.KillAt++ {
		if conf.KillAt > 200 {
			t.Fatal("never killed between files and database")
		}
		if runChild(t, conf) {
			t.Fatal("the restore completed before reaching its database")
		}
		b, err := os.ReadFile(filepath.Join(stateDir(dir), journalName))
		if err == nil && strings.Contains(string(b), `"Phase":"files"`) {
			break
		}
		if _, err := f.repo.Recover(ctx, dir, db); err != nil {
			t.Fatal(err)
		}
		if _, err := f.repo.Restore(ctx, dir, f.cpA, RestoreOptions{DB: db}); err != nil {
			t.Fatal(err)
		}
	}
	if got := dirTree(t, dir); len(got) != len(f.treeB) {
		t.Fatalf("files not applied at phase files: %v", got)
	}
	var notes []string
	finish := func(ctx context.Context, note string) error { notes = append(notes, note); return nil }
	rec, dbErr, err := f.repo.RecoverWith(ctx, dir, RecoverOptions{DB: db, Finish: finish})
	if err != nil || rec != RolledForward || dbErr != "" {
		t.Fatalf("recover = %s, %q, %v", rec, dbErr, err)
	}
	if len(notes) != 1 {
		t.Fatalf("Finish ran %d times", len(notes))
	}
	if rows := todoRows(t, db); strings.Join(rows, ",") != strings.Join(f.rowsB, ",") {
		t.Fatalf("database after recovery: %v, want %v", rows, f.rowsB)
	}
	if Pending(dir) {
		t.Fatal("journal left after recovery")
	}
}
