package workspace

import (
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func newProject(t *testing.T) (*Files, *Project) {
	t.Helper()
	f, err := New(filepath.Join(t.TempDir(), "projects"), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.Create("p1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return f, p
}

func TestCleanPath(t *testing.T) {
	good := map[string]string{"a": "a", "a/b/c.txt": "a/b/c.txt", "a//b/": "a/b", "./a": "a", "": "", "a/./b": "a/b"}
	for in, want := range good {
		got, err := CleanPath(in)
		if err != nil || got != want {
			t.Errorf("CleanPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"..", "../a", "a/../../b", "a/..", "/etc/passwd", "a\x00b", `a\..\b`, strings.Repeat("x", 256)} {
		if _, err := CleanPath(bad); !errors.Is(err, ErrBadPath) {
			t.Errorf("CleanPath(%q) = %v, want ErrBadPath", bad, err)
		}
	}
}

func FuzzCleanPath(f *testing.F) {
	long := strings.Repeat("x", 256)
	for _, s := range []string{"a/b", "../x", "/abs", "a/./b/../c", "a\x00", "....//", "a/b/..", "é/ü", "", ".", "a/",
		long, "a/" + long, "./" + long, long[1:]} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		c, err := CleanPath(p)
		if want, werr := cleanPathByClean(p); c != want || (err == nil) != (werr == nil) {
			t.Fatalf("CleanPath(%q) = %q, %v; path.Clean's way gives %q, %v", p, c, err, want, werr)
		}
		if err != nil {
			return
		}
		if strings.HasPrefix(c, "/") || c == ".." || strings.HasPrefix(c, "../") || strings.Contains(c, "/../") ||
			strings.HasSuffix(c, "/..") || strings.ContainsRune(c, 0) {
			t.Fatalf("CleanPath(%q) = %q escapes", p, c)
		}
		if c2, err := CleanPath(c); err != nil || c2 != c {
			t.Fatalf("CleanPath is not idempotent on %q: %q, %v", c, c2, err)
		}
	})
}

// cleanPathByClean is CleanPath as it was before its canonical fast path:
// every path through path.Clean.
func cleanPathByClean(p string) (string, error) {
	if strings.ContainsAny(p, "\x00\\") || strings.HasPrefix(p, "/") || len(p) > 4096 {
		return "", ErrBadPath
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return "", ErrBadPath
		}
	}
	c := path.Clean("/" + p)[1:]
	for _, part := range strings.Split(c, "/") {
		if len(part) > 255 {
			return "", ErrBadPath
		}
	}
	return c, nil
}

// FuzzProjectPaths throws arbitrary paths at every operation of a project
// whose folder has a sibling "secret" file; nothing may touch the sibling.
func FuzzProjectPaths(f *testing.F) {
	for _, s := range []string{"a", "../secret", "link/secret", "link", "dir/../../secret", "x/y"} {
		f.Add(s, "b")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		dir := t.TempDir()
		files, err := New(filepath.Join(dir, "projects"), nil)
		if err != nil {
			t.Fatal(err)
		}
		secret := filepath.Join(dir, "projects", "p", "secret")
		p, err := files.Create("p")
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		os.WriteFile(secret, []byte("secret"), 0o600)
		os.Symlink("..", filepath.Join(files.Dir("p"), "link"))
		if b, err := p.ReadFile(a, 100); err == nil && string(b) == "secret" {
			t.Fatalf("read %q reached the sibling", a)
		}
		p.WriteFile(a, strings.NewReader("x"), 10)
		p.Mkdir(a)
		p.Move(a, b)
		p.Remove(a)
		if got, err := os.ReadFile(secret); err != nil || string(got) != "secret" {
			t.Fatalf("operations on %q, %q changed the sibling: %q, %v", a, b, got, err)
		}
		if entries, _ := os.ReadDir(filepath.Dir(secret)); len(entries) != 2 { // files/ and secret
			t.Fatalf("operations on %q, %q created files outside the project: %d entries", a, b, len(entries))
		}
	})
}

func TestSymlinksCannotEscape(t *testing.T) {
	files, p := newProject(t)
	outside := filepath.Join(files.Area("p1"), "outside.txt")
	if err := os.WriteFile(outside, []byte("host secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := files.Dir("p1")
	os.Symlink(outside, filepath.Join(dir, "abs-link"))
	os.Symlink("../outside.txt", filepath.Join(dir, "rel-link"))
	os.Symlink("..", filepath.Join(dir, "up"))
	os.WriteFile(filepath.Join(dir, "inside.txt"), []byte("ok"), 0o644)
	os.Symlink("inside.txt", filepath.Join(dir, "good-link"))

	for _, name := range []string{"abs-link", "rel-link", "up/outside.txt"} {
		if _, err := p.ReadFile(name, 1000); !errors.Is(err, ErrBadPath) {
			t.Errorf("read %s: %v, want ErrBadPath", name, err)
		}
	}
	// An atomic write replaces a link with a regular file inside the project;
	// it never writes through the link.
	if _, err := p.WriteFile("rel-link", strings.NewReader("replaced"), 100); err != nil {
		t.Errorf("write over a link: %v", err)
	}
	if info, err := os.Lstat(filepath.Join(dir, "rel-link")); err != nil || !info.Mode().IsRegular() {
		t.Errorf("rel-link after write: %v, %v", info, err)
	}
	if _, err := p.WriteFile("up/outside.txt", strings.NewReader("pwned"), 100); err == nil {
		t.Error("write through a symlinked folder succeeded")
	}
	if err := p.Mkdir("up/newdir"); err == nil {
		t.Error("mkdir through a symlink to the parent succeeded")
	}
	if b, _ := os.ReadFile(outside); string(b) != "host secret" {
		t.Fatalf("outside file changed: %q", b)
	}
	if b, err := p.ReadFile("good-link", 100); err != nil || string(b) != "ok" {
		t.Errorf("symlink inside the project: %q, %v", b, err)
	}
	// Removing a link removes the link, not its target.
	if err := p.Remove("abs-link"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("removing a symlink removed its target: %v", err)
	}
}

type failingReader struct{ n int }

func (r *failingReader) Read(b []byte) (int, error) {
	if r.n == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	r.n--
	return copy(b, "partial"), nil
}

func TestWriteIsAtomic(t *testing.T) {
	_, p := newProject(t)
	if _, err := p.WriteFile("f.txt", strings.NewReader("old"), 100); err != nil {
		t.Fatal(err)
	}
	if _, err := p.WriteFile("f.txt", &failingReader{n: 3}, 100); err == nil {
		t.Fatal("a failing body was accepted")
	}
	if _, err := p.WriteFile("f.txt", strings.NewReader(strings.Repeat("x", 101)), 100); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversize: %v", err)
	}
	b, _ := p.ReadFile("f.txt", 100)
	if string(b) != "old" {
		t.Errorf("after failed writes: %q", b)
	}
	tree, _ := p.Tree()
	if len(tree.Children) != 1 {
		t.Errorf("temporary files left behind: %+v", tree.Children)
	}
}

func TestRemoveProject(t *testing.T) {
	files, p := newProject(t)
	p.WriteFile("a/b.txt", strings.NewReader("x"), 10)
	if err := files.Remove("p1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(files.Area("p1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("project dir still there: %v", err)
	}
	if err := files.Remove("p1"); err != nil {
		t.Errorf("removing twice: %v", err)
	}
	if _, err := files.Project("../x"); !errors.Is(err, ErrBadPath) {
		t.Errorf("bad project id: %v", err)
	}
}

func TestNewFilesBelongToTheProjectOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root can give files away; the server runs as root when it sandboxes code")
	}
	files, p := newProject(t)
	if err := os.Chown(files.Dir("p1"), 1234567, 1234567); err != nil {
		t.Fatal(err)
	}
	p.WriteFile("a/b/c.txt", strings.NewReader("x"), 10)
	p.Mkdir("d/e")
	for _, name := range []string{"a", "a/b", "a/b/c.txt", "d", "d/e"} {
		info, err := os.Lstat(filepath.Join(files.Dir("p1"), name))
		if err != nil {
			t.Fatal(err)
		}
		if st := info.Sys().(*syscall.Stat_t); st.Uid != 1234567 {
			t.Errorf("%s is owned by %d, want the project's owner", name, st.Uid)
		}
	}
}

// A project deleted and created again under the same id serves the new
// folder's files, not those of the folder its cached root held.
func TestCachedRootFollowsDeleteAndCreate(t *testing.T) {
	files, p := newProject(t)
	os.WriteFile(filepath.Join(files.Dir("p1"), "a.txt"), []byte("old"), 0o644)
	if b, err := p.ReadFile("a.txt", 10); err != nil || string(b) != "old" {
		t.Fatalf("read before: %q, %v", b, err)
	}
	p.Close()
	if err := files.Remove("p1"); err != nil {
		t.Fatal(err)
	}
	if _, err := files.Project("p1"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("open after remove: %v, want ErrNotExist", err)
	}
	p2, err := files.Create("p1")
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	os.WriteFile(filepath.Join(files.Dir("p1"), "a.txt"), []byte("new"), 0o644)
	p3, err := files.Project("p1")
	if err != nil {
		t.Fatal(err)
	}
	defer p3.Close()
	if b, err := p3.ReadFile("a.txt", 10); err != nil || string(b) != "new" {
		t.Fatalf("read after delete and create: %q, %v, want the new content", b, err)
	}
}

// A folder replaced behind the cache's back is served once forgotten, and
// the guard runs again then (and only then).
func TestForgetReopensTheFolderAndRunsTheGuard(t *testing.T) {
	files, p := newProject(t)
	guarded := 0
	files.SetGuard(func(string) error { guarded++; return nil })
	p.Close()
	dir := files.Dir("p1")
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("old"), 0o644)
	read := func() string {
		t.Helper()
		p, err := files.Project("p1")
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		b, err := p.ReadFile("a.txt", 10)
		if err != nil {
			return err.Error()
		}
		return string(b)
	}
	if got := read(); got != "old" || guarded != 0 {
		t.Fatalf("read %q with %d guard runs, want the cached folder's content and none", got, guarded)
	}
	// Replace the folder (as a restore built aside and swapped in would).
	os.Rename(dir, dir+".old")
	os.Mkdir(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("new"), 0o644)
	held, err := files.Project("p1") // opened before the Forget: keeps the old folder open
	if err != nil {
		t.Fatal(err)
	}
	files.Forget("p1")
	if got := read(); got != "new" || guarded != 1 {
		t.Fatalf("read %q with %d guard runs after Forget, want the new content and one", got, guarded)
	}
	if got := read(); got != "new" || guarded != 1 {
		t.Fatalf("read %q with %d guard runs, want the new folder cached", got, guarded)
	}
	if b, err := held.ReadFile("a.txt", 10); err != nil || string(b) != "old" {
		t.Fatalf("a project open across Forget read %q, %v; want its own folder still open", b, err)
	}
	held.Close()
	files.Forget("")
	if got := read(); got != "new" || guarded != 2 {
		t.Fatalf("read %q with %d guard runs after Forget(\"\"), want two", got, guarded)
	}
}

// An open that began before a Forget (its guard passed before a restore
// began) is used once but not cached: the next open runs the guard.
func TestOpenRacingForgetIsNotCached(t *testing.T) {
	files, p := newProject(t)
	p.Close()
	files.Forget("p1")
	guarded := 0
	files.SetGuard(func(id string) error {
		if guarded++; guarded == 1 {
			files.Forget(id) // a restore begins while this open is under way
		}
		return nil
	})
	for range 2 {
		p, err := files.Project("p1")
		if err != nil {
			t.Fatal(err)
		}
		p.Close()
	}
	if guarded != 2 {
		t.Fatalf("guard ran %d times, want 2 (the first open was cached across a Forget)", guarded)
	}
}

// linkFixtures makes files, folders and links inside, out of and through
// project p1 and returns the names to open: "inside.txt" holds "ok",
// "outside.txt" beside the project's files "host secret".
func linkFixtures(files *Files) []string {
	dir := files.Dir("p1")
	outside := filepath.Join(files.Area("p1"), "outside.txt")
	os.WriteFile(outside, []byte("host secret"), 0o600)
	os.MkdirAll(filepath.Join(dir, "d/e"), 0o755)
	os.WriteFile(filepath.Join(dir, "inside.txt"), []byte("ok"), 0o644)
	os.Symlink("../inside.txt", filepath.Join(dir, "d/up-in"))
	os.Symlink("../../inside.txt", filepath.Join(dir, "d/e/up-up-in"))
	os.Symlink("../../outside.txt", filepath.Join(dir, "d/up-out"))
	os.Symlink(outside, filepath.Join(dir, "abs"))
	os.Symlink(filepath.Join(dir, "inside.txt"), filepath.Join(dir, "abs-in"))
	os.Symlink("d", filepath.Join(dir, "dlink"))
	os.Symlink("loop", filepath.Join(dir, "loop"))
	os.Symlink("/proc/self/root/etc/passwd", filepath.Join(dir, "proc"))
	return []string{"inside.txt", "d/up-in", "d/e/up-up-in", "dlink/up-in", "d/up-out", "abs", "abs-in", "loop",
		"proc", "missing", "inside.txt/x", "d/missing/x", "d"}
}

// Project.Open's one-call openat2 answers as os.Root does (its fallback)
// for links inside, out of, and through the project, and for bad names.
func TestOpenBeneathAgreesWithRoot(t *testing.T) {
	files, p := newProject(t)
	names := linkFixtures(files)
	class := func(f *os.File, err error) string {
		if err != nil {
			switch err := mapErr(err); {
			case errors.Is(err, ErrBadPath):
				return "bad path"
			case errors.Is(err, ErrNotExist):
				return "not exist"
			default:
				return "other error"
			}
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		return "content " + string(b)
	}
	for _, name := range names {
		beneath, err := p.shared.openBeneath(name)
		if err == errNoOpenat2 {
			if os.Getenv("CI") != "" {
				t.Fatal("openat2 unavailable: the kernel or a seccomp filter refuses it")
			}
			t.Skip("openat2 unavailable here (an old kernel or a seccomp filter): Open uses os.Root, which the other tests cover")
		}
		got := class(beneath, err)
		want := class(p.root.Open(name))
		if got != want {
			t.Errorf("open %q: openat2 gives %s, os.Root %s", name, got, want)
		}
		if strings.Contains(got, "secret") {
			t.Errorf("open %q reached outside the project", name)
		}
	}
}
