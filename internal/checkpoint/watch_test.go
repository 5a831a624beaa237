package checkpoint

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fullHash is what a fresh, untracked scan without a stat cache makes of dir.
func fullHash(t *testing.T, dir string) Hash {
	t.Helper()
	_, h, err := scanDir(context.Background(), dir, nil, NewIgnore(nil), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Random changes of every kind between checkpoints: each tracked
// checkpoint must name exactly the tree a full scan sees, and read only
// what changed.
func TestTrackedScanMatchesFullScan(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	dir := filepath.Join(base, "p")
	outside := filepath.Join(base, "outside")
	for i := range 30 {
		write(t, dir, map[string]string{fmt.Sprintf("d%d/e%d/f%d.txt", i%5, i%3, i): fmt.Sprint("file ", i)})
	}
	repo := newRepo(t)
	cp, err := repo.Create(ctx, dir, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	seed := uint64(3)
	if v := os.Getenv("TRACK_SEED"); v != "" {
		fmt.Sscan(v, &seed)
	}
	r := rand.New(rand.NewPCG(seed, 4))
	// pick returns an existing path below dir (files and directories).
	pick := func(wantDir bool) string {
		var out []string
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && p != dir && (wantDir && d.IsDir() || !wantDir && d.Type().IsRegular()) && !strings.Contains(p, "node_modules") {
				out = append(out, p)
			}
			return nil
		})
		if len(out) == 0 {
			return ""
		}
		return out[r.IntN(len(out))]
	}
	ops := []struct {
		name string
		do   func(i int) error
	}{
		{"write", func(i int) error {
			p := pick(true)
			if p == "" {
				p = dir
			}
			return os.WriteFile(filepath.Join(p, fmt.Sprintf("n%d.txt", i)), []byte(fmt.Sprint("new ", i)), 0o644)
		}},
		{"modify", func(i int) error {
			if p := pick(false); p != "" {
				return os.WriteFile(p, []byte(fmt.Sprint("changed ", i)), 0o644)
			}
			return nil
		}},
		{"append same size", func(i int) error {
			if p := pick(false); p != "" {
				f, err := os.OpenFile(p, os.O_WRONLY, 0)
				if err != nil {
					return err
				}
				defer f.Close()
				_, err = f.WriteAt([]byte{byte('a' + i%26)}, 0)
				return err
			}
			return nil
		}},
		{"remove file", func(int) error { return removeIf(pick(false)) }},
		{"remove dir", func(int) error {
			if p := pick(true); p != "" {
				return os.RemoveAll(p)
			}
			return nil
		}},
		{"mkdir deep", func(i int) error {
			return os.MkdirAll(filepath.Join(dir, fmt.Sprintf("m%d/x/y", i)), 0o755)
		}},
		{"new tree", func(i int) error {
			p := filepath.Join(dir, fmt.Sprintf("t%d", i))
			write(t, p, map[string]string{"a/b.txt": "b", "a/c/d.txt": "d", "e.txt": "e"})
			return nil
		}},
		{"rename dir", func(i int) error {
			p, q := pick(true), pick(true)
			if p == "" || q == "" || strings.HasPrefix(q+"/", p+"/") {
				return nil
			}
			return os.Rename(p, filepath.Join(q, fmt.Sprintf("moved%d", i)))
		}},
		{"rename file", func(i int) error {
			p, q := pick(false), pick(true)
			if p == "" || q == "" {
				return nil
			}
			return os.Rename(p, filepath.Join(q, fmt.Sprintf("r%d.txt", i)))
		}},
		{"dir in from outside", func(i int) error {
			src := filepath.Join(outside, fmt.Sprint(i))
			write(t, src, map[string]string{"in/deep/z.txt": "z", "y.txt": "y"})
			return os.Rename(src, filepath.Join(dir, fmt.Sprintf("came%d", i)))
		}},
		{"dir out", func(i int) error {
			if p := pick(true); p != "" {
				os.MkdirAll(outside, 0o755)
				return os.Rename(p, filepath.Join(outside, fmt.Sprintf("left%d", i)))
			}
			return nil
		}},
		{"chmod file", func(i int) error {
			if p := pick(false); p != "" {
				return os.Chmod(p, []os.FileMode{0o600, 0o755, 0o644}[i%3])
			}
			return nil
		}},
		{"chmod dir", func(i int) error {
			if p := pick(true); p != "" {
				return os.Chmod(p, []os.FileMode{0o700, 0o755}[i%2])
			}
			return nil
		}},
		{"symlink", func(i int) error {
			p := pick(true)
			if p == "" {
				p = dir
			}
			return os.Symlink(fmt.Sprint("target", i), filepath.Join(p, fmt.Sprintf("l%d", i)))
		}},
		{"file becomes dir", func(i int) error {
			p := pick(false)
			if p == "" {
				return nil
			}
			if err := os.Remove(p); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(ensureDir(p), "inner.txt"), []byte("inner"), 0o644)
		}},
		{"ignored", func(i int) error {
			return os.MkdirAll(filepath.Join(dir, "node_modules", fmt.Sprint(i)), 0o755)
		}},
		{"virtualenv", func(i int) error {
			p := pick(true)
			if p == "" {
				return nil
			}
			cfg := filepath.Join(p, "pyvenv.cfg")
			if fi, err := os.Lstat(cfg); err == nil && !fi.Mode().IsRegular() {
				return nil // a directory of that name (from "file becomes dir")
			}
			return os.WriteFile(cfg, []byte("home = /usr"), 0o644)
		}},
	}
	seq := 0
	history := []Checkpoint{cp}
	for round := range 120 {
		if r.IntN(6) == 0 {
			// Restore an earlier checkpoint: tracking carries over to the new tree.
			target := history[r.IntN(len(history))]
			if _, err := repo.Restore(ctx, dir, target, RestoreOptions{}); err != nil {
				t.Fatalf("round %d: restore: %v", round, err)
			}
			if got := fullHash(t, dir); got != target.Manifest {
				t.Fatalf("round %d: restored tree differs:\n%s", round, treeDiff(t, repo, dir, target.Manifest))
			}
		}
		var did []string
		for range 1 + r.IntN(3) {
			op := ops[r.IntN(len(ops))]
			seq++
			if err := op.do(seq); err != nil {
				t.Fatalf("round %d %s: %v", round, op.name, err)
			}
			did = append(did, op.name)
		}
		parent := cp
		cp, err = repo.Create(ctx, dir, CreateOptions{Parent: &parent})
		if err != nil {
			t.Fatalf("round %d (%v): %v", round, did, err)
		}
		if want := fullHash(t, dir); cp.Manifest != want {
			t.Fatalf("round %d (%v): tracked checkpoint differs from a full scan:\n%s", round, did, treeDiff(t, repo, dir, cp.Manifest))
		}
		history = append(history, cp)
	}
	// Nothing changed: nothing is read again.
	parent := cp
	cp, err = repo.Create(ctx, dir, CreateOptions{Parent: &parent})
	if err != nil {
		t.Fatal(err)
	}
	if cp.Manifest != parent.Manifest || cp.Metrics.FilesHashed != 0 {
		t.Errorf("unchanged project: manifest %s → %s, %d files hashed", parent.Manifest, cp.Manifest, cp.Metrics.FilesHashed)
	}
	if cp.Metrics.Files != parent.Metrics.Files || cp.Metrics.Bytes != parent.Metrics.Bytes || cp.Metrics.Files == 0 {
		t.Errorf("files %d/%d bytes %d/%d", parent.Metrics.Files, cp.Metrics.Files, parent.Metrics.Bytes, cp.Metrics.Bytes)
	}
}

func removeIf(p string) error {
	if p == "" {
		return nil
	}
	return os.Remove(p)
}

func ensureDir(p string) string {
	os.MkdirAll(p, 0o755)
	return p
}

// A tracked checkpoint after one change reads that directory only, and
// the periodic or forced full scans still agree.
func TestTrackedScanReadsOnlyWhatChanged(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "p")
	files := map[string]string{}
	for i := range 200 {
		files[fmt.Sprintf("d%02d/f%03d.txt", i/20, i)] = fmt.Sprint("file ", i)
	}
	write(t, dir, files)
	repo := newRepo(t)
	first, err := repo.Create(ctx, dir, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, map[string]string{"d03/f061.txt": "changed"})
	cp, err := repo.Create(ctx, dir, CreateOptions{Parent: &first})
	if err != nil {
		t.Fatal(err)
	}
	// The files of the one re-read directory were written within the racy
	// window of the first scan, so all 20 of them are read again; no other.
	if cp.Metrics.FilesHashed > 20 || cp.Metrics.FilesModified != 1 || cp.Metrics.Files != 200 {
		t.Errorf("hashed %d, modified %d, files %d", cp.Metrics.FilesHashed, cp.Metrics.FilesModified, cp.Metrics.Files)
	}
	if want := fullHash(t, dir); cp.Manifest != want {
		t.Fatalf("tracked %s, full %s", cp.Manifest, want)
	}
	// After a restore the project directory is another inode: the next
	// checkpoint scans in full and tracks the new tree.
	if _, err := repo.Restore(ctx, dir, first, RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	write(t, dir, map[string]string{"d05/new.txt": "after restore"})
	cp2, err := repo.Create(ctx, dir, CreateOptions{Parent: &cp})
	if err != nil {
		t.Fatal(err)
	}
	if want := fullHash(t, dir); cp2.Manifest != want {
		t.Fatalf("after restore: tracked %s, full %s", cp2.Manifest, want)
	}
	write(t, dir, map[string]string{"d06/f121.txt": "again"})
	cp3, err := repo.Create(ctx, dir, CreateOptions{Parent: &cp2})
	if err != nil {
		t.Fatal(err)
	}
	if want := fullHash(t, dir); cp3.Manifest != want || cp3.Metrics.FilesModified != 1 {
		t.Fatalf("tracked %s, full %s, modified %d", cp3.Manifest, want, cp3.Metrics.FilesModified)
	}
	// A lost event queue (overflow) means a full scan, which agrees too.
	repo.watch.mu.Lock()
	repo.watch.eventLocked(-1, 0x4000 /* IN_Q_OVERFLOW */, "")
	repo.watch.mu.Unlock()
	write(t, dir, map[string]string{"d07/f141.txt": "after overflow"})
	cp4, err := repo.Create(ctx, dir, CreateOptions{Parent: &cp3})
	if err != nil {
		t.Fatal(err)
	}
	if want := fullHash(t, dir); cp4.Manifest != want {
		t.Fatalf("after overflow: %s, full %s", cp4.Manifest, want)
	}
}

func newRepo(t *testing.T) *Repo {
	t.Helper()
	objects, err := NewDirStore(filepath.Join(t.TempDir(), "objects"))
	if err != nil {
		t.Fatal(err)
	}
	r := NewRepo(objects)
	t.Cleanup(func() { r.Close() })
	return r
}

// treeDiff lists the paths where the manifest h and a full scan of dir differ.
func treeDiff(t *testing.T, repo *Repo, dir string, h Hash) string {
	ctx := context.Background()
	sc, full, err := scanDir(ctx, dir, nil, NewIgnore(nil), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, got := map[string]Entry{}, map[string]Entry{}
	if err := (&loader{ctx: ctx, mem: sc.trees}).flatten(full, "", want); err != nil {
		t.Fatal(err)
	}
	if err := (&loader{ctx: ctx, objects: repo.objects}).flatten(h, "", got); err != nil {
		t.Fatal(err)
	}
	var out []string
	for p, e := range want {
		if g, ok := got[p]; !ok || (g.Type != TypeDir && g != e) || g.Mode != e.Mode {
			out = append(out, fmt.Sprintf("%s: full %+v, tracked %+v", p, e, g))
		}
	}
	for p, g := range got {
		if _, ok := want[p]; !ok {
			out = append(out, fmt.Sprintf("%s: only tracked %+v", p, g))
		}
	}
	return strings.Join(out, "\n")
}

// Files a restore links from the old tree are never left sharing an inode:
// writing one must not change another.
func TestRestoreNeverSharesInodes(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "p")
	write(t, dir, map[string]string{"x.txt": "same\n", "y.txt": "same\n", "keep/k.txt": "same\n"})
	repo := newRepo(t)
	cp1, err := repo.Create(ctx, dir, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "x.txt"))
	os.Remove(filepath.Join(dir, "y.txt"))
	write(t, dir, map[string]string{"z.txt": "same\n"})
	if _, err := repo.Restore(ctx, dir, cp1, RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "x.txt"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"y.txt", "keep/k.txt"} {
		if b, _ := os.ReadFile(filepath.Join(dir, p)); string(b) != "same\n" {
			t.Errorf("%s changed with x.txt: %q", p, b)
		}
	}
}

// A process in the sandbox keeps running during a restore; if it swaps a
// folder for a link to somewhere else (here: right after the restore staged
// its files), the restore must fail rather than write there.
func TestRestoreNeverLeavesTheProject(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	dir, outside := filepath.Join(base, "p"), filepath.Join(base, "outside")
	write(t, dir, map[string]string{"d/x.txt": "checkpointed\n", "d/gone.txt": "bye\n"})
	write(t, outside, map[string]string{"x.txt": "outside\n", "gone.txt": "outside too\n"})
	repo := newRepo(t)
	cp1, err := repo.Create(ctx, dir, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, map[string]string{"d/x.txt": "changed\n", "d/new.txt": "new\n"})
	os.Remove(filepath.Join(dir, "d", "gone.txt"))
	hook = func(op string) {
		if op == "staged" {
			os.Rename(filepath.Join(dir, "d"), filepath.Join(base, "d-aside"))
			os.Symlink(outside, filepath.Join(dir, "d"))
		}
	}
	defer func() { hook = func(string) {} }()
	if _, err := repo.Restore(ctx, dir, cp1, RestoreOptions{}); err == nil {
		t.Error("the restore went through a link out of the project")
	}
	got := dirTree(t, outside)
	if got["x.txt"] != "file 644 outside\n" || got["gone.txt"] != "file 644 outside too\n" || len(got) != 2 {
		t.Errorf("outside the project: %v", got)
	}
}

// Likewise a checkpoint: a folder swapped for a link between the walk and
// the reading of its files must not put a file from elsewhere into it.
func TestCheckpointNeverReadsOutsideTheProject(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	dir, outside := filepath.Join(base, "p"), filepath.Join(base, "outside")
	write(t, dir, map[string]string{"d/x.txt": "mine\n"})
	write(t, outside, map[string]string{"x.txt": "secret outside\n"})
	hook = func(op string) {
		if op == "scanned" {
			os.Rename(filepath.Join(dir, "d"), filepath.Join(base, "d-aside"))
			os.Symlink(outside, filepath.Join(dir, "d"))
		}
	}
	defer func() { hook = func(string) {} }()
	repo := newRepo(t)
	cp, err := repo.Create(ctx, dir, CreateOptions{})
	if err != nil {
		return // refused: fine
	}
	files := map[string]Entry{}
	if err := (&loader{ctx: ctx, objects: repo.objects}).flatten(cp.Manifest, "", files); err != nil {
		t.Fatal(err)
	}
	b, err := getBytes(ctx, repo.objects, files["d/x.txt"].Hash, 1<<20)
	if err != nil || string(b) != "mine\n" {
		t.Errorf("the checkpoint holds %q for d/x.txt (%v)", b, err)
	}
}
