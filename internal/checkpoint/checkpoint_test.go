package checkpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"ecode/internal/store"
	"ecode/internal/testutil/testdb"
)

// write creates files: "path" → content; a content of "->target" makes a
// symlink; a path ending in "/" makes a directory.
func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		os.Remove(full)
		if target, ok := strings.CutPrefix(c, "->"); ok {
			if err := os.Symlink(target, full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// dirTree describes every entry below dir (type, mode, content or target),
// skipping paths with a component in skip, and the install stamp.
func dirTree(t testing.TB, dir string, skip ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if slices.ContainsFunc(strings.Split(rel, "/"), func(c string) bool { return slices.Contains(skip, c) }) || rel == ".ecode/install.sum" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out[rel] = "link:" + target
		case fi.IsDir():
			out[rel] = fmt.Sprintf("dir %o", fi.Mode().Perm())
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = fmt.Sprintf("file %o %s", fi.Mode().Perm(), b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// env is a project on disk with its object store and records.
type env struct {
	t       *testing.T
	st      *store.Store
	repo    *Repo
	objects testObjects
	dir     string
	project string
	seq     int
}

func newEnv(t *testing.T, st *store.Store, objects testObjects) *env {
	base := t.TempDir()
	ctx := context.Background()
	if _, err := st.CreateUser(ctx, store.User{ID: "u1", Email: "u1@x.test", Name: "u1", PasswordHash: "h", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, repo: NewRepo(objects.ObjectStore), objects: objects, dir: filepath.Join(base, "projects", "p1"), project: "p1"}
	e.addProject("p1")
	if err := os.MkdirAll(e.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) addProject(id string) {
	if _, err := e.st.CreateProject(context.Background(), store.Project{ID: id, Name: id, OwnerID: "u1", CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		e.t.Fatal(err)
	}
}

// checkpoint creates and records a checkpoint of dir for project.
func (e *env) checkpoint(project, dir, msg string, db ProjectDB) (string, Checkpoint) {
	e.t.Helper()
	ctx := context.Background()
	var parent *Checkpoint
	parentID := ""
	if last, err := e.st.LatestCheckpoint(ctx, project); err == nil {
		p := fromRecord(e.t, last)
		parent, parentID = &p, last.ID
	}
	e.seq++
	id := fmt.Sprintf("c%d", e.seq)
	var progress []Progress
	cp, err := e.repo.Create(ctx, dir, CreateOptions{
		Parent: parent, DB: db, Conversation: strings.NewReader("conversation " + msg),
		Env:      Env{RunConfig: "run = 'npm start'", Vars: map[string]string{"MODE": "dev"}, Secrets: []SecretRef{{Name: "API_KEY", Version: 3}}},
		Metrics:  Metrics{Trigger: "user", Actor: "u1", TokensUsed: 42},
		Progress: func(p Progress) { progress = append(progress, p) },
		Commit: func(ctx context.Context, cp Checkpoint) error {
			return e.st.CreateCheckpoint(ctx, toRecord(id, project, parentID, msg, cp))
		},
	})
	if err != nil {
		e.t.Fatalf("create %s: %v", msg, err)
	}
	if len(progress) == 0 || progress[len(progress)-1].Phase != "done" {
		e.t.Errorf("progress = %v", progress)
	}
	return id, cp
}

func toRecord(id, project, parent, msg string, cp Checkpoint) store.Checkpoint {
	env, _ := json.Marshal(cp.Env)
	metrics, _ := json.Marshal(cp.Metrics)
	return store.Checkpoint{ID: id, ProjectID: project, ParentID: parent, Message: msg, CreatedBy: cp.Metrics.Actor,
		Trigger: cp.Metrics.Trigger, ManifestHash: string(cp.Manifest), DBHash: string(cp.DB),
		ConversationHash: string(cp.Conversation), Env: env, Metrics: metrics, CreatedAt: time.Now()}
}

func fromRecord(t testing.TB, r store.Checkpoint) Checkpoint {
	cp := Checkpoint{Manifest: Hash(r.ManifestHash), DB: Hash(r.DBHash), Conversation: Hash(r.ConversationHash)}
	if err := json.Unmarshal(r.Env, &cp.Env); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(r.Metrics, &cp.Metrics); err != nil {
		t.Fatal(err)
	}
	return cp
}

func (e *env) get(project, id string) Checkpoint {
	r, err := e.st.Checkpoint(context.Background(), project, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return fromRecord(e.t, r)
}

func (e *env) refs() RefLister {
	return func(ctx context.Context, fn func(Refs) error) error {
		return e.st.ListCheckpointRefs(ctx, func(m, d, c string) error { return fn(Refs{Hash(m), Hash(d), Hash(c)}) })
	}
}

func (e *env) fsck() {
	e.t.Helper()
	rep, err := e.repo.Fsck(context.Background(), e.refs())
	if err != nil || !rep.OK() {
		e.t.Fatalf("fsck: %+v, %v", rep, err)
	}
}

var v1 = map[string]string{
	"main.py":               "import os\nprint('hello')\nprint('world')\n",
	"lib/util.py":           "def f():\n    return 1\n",
	"lib/deep/data.json":    `{"a": 1}`,
	"static/":               "",
	"package.json":          `{"dependencies": {"left-pad": "1.0.0"}}`,
	"link":                  "->main.py",
	"bin.dat":               "\x00\x01\x02binary",
	"node_modules/lp/i.js":  "module.exports = 1\n",
	".ecode/install.sum":    "sum1",
	".ecode/keep":           "kept",
	"web/__pycache__/x.pyc": "cache",
	"venv/pyvenv.cfg":       "home = /usr",
	"venv/lib/site.py":      "site",
}

func TestCreateDiffRestoreFork(t *testing.T) {
	for _, b := range objectBackends {
		t.Run(b.name, func(t *testing.T) { testCreateDiffRestoreFork(t, b.open) })
	}
}

func testCreateDiffRestoreFork(t *testing.T, open func(*testing.T) testObjects) {
	testdb.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, open(t))
		write(t, e.dir, v1)
		os.Chmod(filepath.Join(e.dir, "main.py"), 0o755)
		tracked1 := dirTree(t, e.dir, "node_modules", "venv", "__pycache__")
		id1, cp1 := e.checkpoint("p1", e.dir, "one", nil)
		if cp1.Metrics.FilesAdded != 7 || cp1.Metrics.Files != 6 || cp1.Metrics.LinesAdded == 0 {
			t.Errorf("first metrics = %+v", cp1.Metrics)
		}
		if cp1.Env.Secrets[0].Name != "API_KEY" || cp1.Conversation == "" {
			t.Errorf("env/conversation not kept: %+v", cp1)
		}

		// Change some files; the rest must not be read again.
		write(t, e.dir, map[string]string{
			"main.py":              "import os\nprint('hello, you')\nprint('world')\n",
			"lib/new.py":           "x = 1\n",
			"package.json":         `{"dependencies": {"left-pad": "2.0.0"}}`,
			"link":                 "->lib",
			"node_modules/lp/i.js": "module.exports = 2\n",
		})
		os.Remove(filepath.Join(e.dir, "lib/deep/data.json"))
		tracked2 := dirTree(t, e.dir, "node_modules", "venv", "__pycache__")
		id2, cp2 := e.checkpoint("p1", e.dir, "two", nil)
		m := cp2.Metrics
		if m.FilesAdded != 1 || m.FilesModified != 3 || m.FilesRemoved != 1 || m.LinesAdded != 4 || m.LinesRemoved != 4 {
			t.Errorf("second metrics = %+v", m)
		}
		// The stat cache only holds files older than the racy window, so here
		// (all files just written) everything is read; see TestStatCache.

		d, err := e.repo.Diff(ctx, Source{Checkpoint: &cp1}, Source{Checkpoint: &cp2}, DiffOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range d.Files {
			got = append(got, string(f.Status)+" "+f.Path)
		}
		want := []string{"removed lib/deep/data.json", "added lib/new.py", "modified link", "modified main.py", "modified package.json"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("diff files (-want +got):\n%s", diff)
		}
		for _, f := range d.Files {
			if f.Path == "main.py" {
				wantPatch := "--- a/main.py\n+++ b/main.py\n@@ -1,3 +1,3 @@\n import os\n-print('hello')\n+print('hello, you')\n print('world')\n"
				if f.Patch != wantPatch {
					t.Errorf("patch:\n%s\nwant:\n%s", f.Patch, wantPatch)
				}
			}
		}
		// Against the live tree.
		write(t, e.dir, map[string]string{"lib/util.py": "def f():\n    return 2\n"})
		d, err = e.repo.Diff(ctx, Source{Checkpoint: &cp2}, Source{Dir: e.dir}, DiffOptions{})
		if err != nil || len(d.Files) != 1 || d.Files[0].Path != "lib/util.py" || d.Files[0].LinesAdded != 1 {
			t.Errorf("diff with the live tree = %+v, %v", d, err)
		}

		// Restore the first checkpoint: tracked files as they were, ignored
		// ones (node_modules, the install stamp, the venv) left as they are.
		res, err := e.repo.Restore(ctx, e.dir, e.get("p1", id1), RestoreOptions{})
		if err != nil {
			t.Fatal(err)
		}
		now := dirTree(t, e.dir, "node_modules", "venv", "__pycache__")
		if diff := cmp.Diff(tracked1, now); diff != "" {
			t.Errorf("restored tree (-want +got):\n%s", diff)
		}
		if b, _ := os.ReadFile(filepath.Join(e.dir, "node_modules/lp/i.js")); string(b) != "module.exports = 2\n" {
			t.Errorf("node_modules not carried over: %q", b)
		}
		if _, err := os.Stat(filepath.Join(e.dir, "venv/lib/site.py")); err != nil {
			t.Errorf("venv not carried over: %v", err)
		}
		if !slices.Equal(res.DependencyFiles, []string{"package.json"}) {
			t.Errorf("dependency files = %v", res.DependencyFiles)
		}
		if res.Files != 6 {
			t.Errorf("restore result = %+v", res)
		}
		if _, err := os.Stat(stateDir(e.dir) + "/stage"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("stage left behind: %v", err)
		}
		// A restore is a checkpoint too; then restore of the restore.
		id3, _ := e.checkpoint("p1", e.dir, "restored one", nil)
		if _, err := e.repo.Restore(ctx, e.dir, e.get("p1", id2), RestoreOptions{}); err != nil {
			t.Fatal(err)
		}
		now = dirTree(t, e.dir, "node_modules", "venv", "__pycache__")
		if diff := cmp.Diff(tracked2, now); diff != "" {
			t.Errorf("restored second (-want +got):\n%s", diff)
		}
		if _, err := e.repo.Restore(ctx, e.dir, e.get("p1", id3), RestoreOptions{}); err != nil {
			t.Fatal(err)
		}
		now = dirTree(t, e.dir, "node_modules", "venv", "__pycache__")
		if diff := cmp.Diff(tracked1, now); diff != "" {
			t.Errorf("restore of the restore (-want +got):\n%s", diff)
		}

		// Fork: the second checkpoint into a new project's directory.
		e.addProject("p2")
		forkDir := filepath.Join(filepath.Dir(e.dir), "p2")
		if _, err := e.repo.Restore(ctx, forkDir, e.get("p1", id2), RestoreOptions{}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tracked2, dirTree(t, forkDir)); diff != "" {
			t.Errorf("fork (-want +got):\n%s", diff)
		}
		e.checkpoint("p2", forkDir, "fork", nil)
		e.fsck()

		// Retention and GC: dropping the first checkpoints frees only what
		// nothing else references.
		for _, id := range []string{id1, id3} {
			if err := st.DeleteCheckpoint(ctx, "p1", id); err != nil {
				t.Fatal(err)
			}
		}
		gs, err := e.repo.GC(ctx, e.refs(), GCOptions{Grace: -time.Hour})
		if err != nil || gs.Deleted == 0 {
			t.Fatalf("gc = %+v, %v", gs, err)
		}
		e.fsck()
		if _, err := e.repo.Restore(ctx, e.dir, e.get("p1", id2), RestoreOptions{}); err != nil {
			t.Fatalf("restore after gc: %v", err)
		}
		// Corruption of a referenced object is found. (The store may also
		// hold objects nothing references yet: a restore stores what it scans.)
		var loose []Hash
		e.objects.ObjectStore.List(ctx, func(o ObjectInfo) error {
			if e.objects.loose(o.Hash) {
				loose = append(loose, o.Hash)
			}
			return nil
		})
		var victim Hash
		for _, h := range loose {
			orig := e.objects.readRaw(h)
			e.objects.writeRaw(h, []byte("junk"))
			if rep, _ := e.repo.Fsck(ctx, e.refs()); slices.Contains(rep.Corrupt, h) {
				victim = h
				break
			}
			e.objects.writeRaw(h, orig)
		}
		if victim == "" {
			t.Fatalf("fsck missed corruption in each of %d loose objects", len(loose))
		}
		e.objects.removeRaw(victim)
		if rep, _ := e.repo.Fsck(ctx, e.refs()); len(rep.Missing) != 1 {
			t.Errorf("fsck missing = %v", rep.Missing)
		}
	})
}

// TestStatCache: after a first checkpoint, one changed file costs one read.
func TestStatCache(t *testing.T) {
	dir := t.TempDir()
	objects, _ := NewDirStore(filepath.Join(t.TempDir(), "o"))
	repo := NewRepo(objects)
	ctx := context.Background()
	files := map[string]string{}
	for i := range 200 {
		files[fmt.Sprintf("d%d/f%d.txt", i%10, i)] = fmt.Sprintf("file %d\n", i)
	}
	write(t, dir, files)
	old := time.Now().Add(-time.Hour)
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error { return os.Chtimes(p, old, old) })
	// ctime cannot be set back, so the racy window is measured from a clock
	// the test moves on instead.
	racy := racyWindowForTest(-time.Minute)
	defer racy()
	cp1, err := repo.Create(ctx, dir, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cp1.Metrics.FilesHashed != 200 {
		t.Errorf("first hashed %d", cp1.Metrics.FilesHashed)
	}
	write(t, dir, map[string]string{"d3/f3.txt": "changed\n"})
	cp2, err := repo.Create(ctx, dir, CreateOptions{Parent: &cp1})
	if err != nil {
		t.Fatal(err)
	}
	if cp2.Metrics.FilesHashed != 1 || cp2.Metrics.FilesModified != 1 {
		t.Errorf("second: %+v", cp2.Metrics)
	}
	// A restore leaves a stat cache the next checkpoint uses.
	res, err := repo.Restore(ctx, dir, cp1, RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.FilesWritten != 1 || res.DirsReused != 9 || res.Files != 200 {
		t.Errorf("restore did more than the change: %+v", res)
	}
	cp3, err := repo.Create(ctx, dir, CreateOptions{Parent: &cp1})
	if err != nil {
		t.Fatal(err)
	}
	if cp3.Manifest != cp1.Manifest || cp3.Metrics.FilesHashed != 0 {
		t.Errorf("after restore: hashed %d, same manifest %v", cp3.Metrics.FilesHashed, cp3.Manifest == cp1.Manifest)
	}
}

func racyWindowForTest(d time.Duration) func() {
	old := racyWindow
	racyWindow = d
	return func() { racyWindow = old }
}

// TestCarryOverNotThroughLinks: an ignored folder whose parent became a
// symbolic link in the restored tree is not moved through the link.
func TestCarryOverNotThroughLinks(t *testing.T) {
	ctx := context.Background()
	dir, outside := t.TempDir(), t.TempDir()
	objects, _ := NewDirStore(filepath.Join(t.TempDir(), "o"))
	repo := NewRepo(objects)
	write(t, dir, map[string]string{"web": "->" + outside})
	cp, err := repo.Create(ctx, dir, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "web"))
	write(t, dir, map[string]string{"web/index.js": "x", "web/node_modules/m.js": "dep"})
	if _, err := repo.Restore(ctx, dir, cp, RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	if es, _ := os.ReadDir(outside); len(es) != 0 {
		t.Errorf("restore wrote through a symbolic link: %v", es)
	}
}

// TestGCWhileCreating: collections running while checkpoints are created
// and recorded never delete what a recorded checkpoint needs.
func TestGCWhileCreating(t *testing.T) {
	forEachBackend(t, func(t *testing.T, objects testObjects) { testGCWhileCreating(t, objects.ObjectStore) })
}

func testGCWhileCreating(t *testing.T, objects ObjectStore) {
	ctx := context.Background()
	repo := NewRepo(objects)
	var mu sync.Mutex
	var recorded []Refs
	refs := func(ctx context.Context, fn func(Refs) error) error {
		mu.Lock()
		rs := slices.Clone(recorded)
		mu.Unlock()
		for _, r := range rs {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dir := t.TempDir()
			for i := range 15 {
				write(t, dir, map[string]string{"a.txt": fmt.Sprint(w, i), fmt.Sprintf("f%d.txt", i): "x", "same.txt": "shared"})
				_, err := repo.Create(ctx, dir, CreateOptions{Commit: func(ctx context.Context, cp Checkpoint) error {
					mu.Lock()
					defer mu.Unlock()
					if i%3 != 0 { // some checkpoints are "deleted" right away
						recorded = append(recorded, cp.Refs())
					}
					return nil
				}})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	collections := 0
	for {
		select {
		case <-done:
		default:
			if _, err := repo.GC(ctx, refs, GCOptions{Grace: -time.Hour}); err != nil {
				t.Fatal(err)
			}
			collections++
			continue
		}
		break
	}
	if _, err := repo.GC(ctx, refs, GCOptions{Grace: -time.Hour}); err != nil {
		t.Fatal(err)
	}
	rep, err := repo.Fsck(ctx, refs)
	if err != nil || !rep.OK() {
		t.Fatalf("after %d collections: %+v %v", collections, rep, err)
	}
	if len(recorded) != 30 || collections < 2 {
		t.Errorf("recorded %d, collections %d", len(recorded), collections)
	}
}

// TestRestoreOwnership: as root, restored files belong to the project
// directory's owner.
func TestRestoreOwnership(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	ctx := context.Background()
	dir := t.TempDir()
	objects, _ := NewDirStore(filepath.Join(t.TempDir(), "o"))
	repo := NewRepo(objects)
	write(t, dir, map[string]string{"a/b.txt": "b", "c.txt": "c", "l": "->c.txt"})
	cp, err := repo.Create(ctx, dir, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fork := filepath.Join(t.TempDir(), "fork")
	os.Mkdir(fork, 0o750)
	os.Chown(fork, 4242, 4343)
	var progress []Progress
	if _, err := repo.Restore(ctx, fork, cp, RestoreOptions{Progress: func(p Progress) { progress = append(progress, p) }}); err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(fork, func(p string, d fs.DirEntry, err error) error {
		fi, _ := os.Lstat(p)
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != 4242 || st.Gid != 4343 {
			t.Errorf("%s owned by %d:%d", p, st.Uid, st.Gid)
		}
		return nil
	})
	if fi, _ := os.Stat(fork); fi.Mode().Perm() != 0o750 {
		t.Errorf("project dir mode %v", fi.Mode())
	}
	if len(progress) == 0 || progress[len(progress)-1] != (Progress{Phase: "restore", Done: 2, Total: 2}) {
		t.Errorf("progress = %v", progress)
	}
}

func TestExpired(t *testing.T) {
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	var items []RetentionItem
	for i := range 10 {
		items = append(items, RetentionItem{ID: fmt.Sprint(i), CreatedAt: now.Add(-time.Duration(i) * 24 * time.Hour), Pinned: i == 8})
	}
	got := Expired(items, now, RetentionPolicy{KeepLast: 3, KeepWithin: 5 * 24 * time.Hour})
	if want := []string{"5", "6", "7", "9"}; !slices.Equal(got, want) {
		t.Errorf("expired = %v, want %v", got, want)
	}
}

// TestRepack: GC gathers small objects into a pack; everything still reads,
// unreferenced packed objects are dropped by the next collection.
func TestRepack(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	objects, _ := NewDirStore(filepath.Join(t.TempDir(), "o"))
	repo := NewRepo(objects)
	files := map[string]string{}
	for i := range 300 {
		files[fmt.Sprintf("d%d/f%d.txt", i%7, i)] = fmt.Sprintf("content %d\n", i)
	}
	write(t, dir, files)
	cp1, err := repo.Create(ctx, dir, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, map[string]string{"d0/f0.txt": "changed\n"})
	cp2, err := repo.Create(ctx, dir, CreateOptions{Parent: &cp1})
	if err != nil {
		t.Fatal(err)
	}
	both := func(ctx context.Context, fn func(Refs) error) error {
		if err := fn(cp1.Refs()); err != nil {
			return err
		}
		return fn(cp2.Refs())
	}
	gs, err := repo.GC(ctx, both, GCOptions{Grace: -time.Hour})
	if err != nil || gs.Repack.Loose < 300 || gs.Deleted != 0 {
		t.Fatalf("gc = %+v, %v", gs, err)
	}
	loose := 0
	filepath.WalkDir(filepath.Join(objects.dir, "objects"), func(p string, d fs.DirEntry, err error) error {
		if d.Type().IsRegular() {
			loose++
		}
		return nil
	})
	if loose != 0 {
		t.Errorf("%d loose objects left", loose)
	}
	if rep, err := repo.Fsck(ctx, both); err != nil || !rep.OK() {
		t.Fatalf("fsck after repack: %+v %v", rep, err)
	}
	fork := filepath.Join(t.TempDir(), "fork")
	if _, err := repo.Restore(ctx, fork, cp1, RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	want := dirTree(t, dir)
	want["d0/f0.txt"] = "file 644 content 0\n"
	if diff := cmp.Diff(want, dirTree(t, fork)); diff != "" {
		t.Errorf("restore from pack (-want +got):\n%s", diff)
	}
	// Dropping cp1 frees its one unshared file blob and its changed trees.
	only2 := func(ctx context.Context, fn func(Refs) error) error { return fn(cp2.Refs()) }
	gs, err = repo.GC(ctx, only2, GCOptions{Grace: -time.Hour})
	if err != nil || gs.Deleted != 3 || gs.Repack.Dropped != 3 {
		t.Fatalf("second gc = %+v, %v", gs, err)
	}
	if rep, err := repo.Fsck(ctx, only2); err != nil || !rep.OK() {
		t.Fatalf("fsck after second repack: %+v %v", rep, err)
	}
	if ok, _ := objects.Has(ctx, cp1.Manifest); ok {
		t.Error("dropped manifest still there")
	}
	// A new checkpoint after packing reuses packed objects.
	write(t, dir, map[string]string{"d1/new.txt": "new\n"})
	cp3, err := repo.Create(ctx, dir, CreateOptions{Parent: &cp2})
	if err != nil || cp3.Metrics.FilesAdded != 1 {
		t.Fatalf("create after repack: %+v %v", cp3.Metrics, err)
	}
	if rep, err := repo.Fsck(ctx, func(ctx context.Context, fn func(Refs) error) error { return fn(cp3.Refs()) }); err != nil || !rep.OK() {
		t.Fatalf("fsck: %+v %v", rep, err)
	}
}
