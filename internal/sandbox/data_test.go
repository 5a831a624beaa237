//go:build linux

package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDataBind: Spec.Data is seen writable at /workspace/.ecode over the
// project's own .ecode, shared by two workspaces over the same files, and
// gone from the host's view of the files when the workspace closes; a
// .ecode that is a symlink (project files are the user's) is refused
// rather than followed.
func TestDataBind(t *testing.T) {
	r := localRunner(t)
	root := t.TempDir()
	os.Chmod(root, 0o755)
	dir, data := filepath.Join(root, "app"), filepath.Join(root, "data")
	os.MkdirAll(filepath.Join(dir, ".ecode"), 0o755)
	os.WriteFile(filepath.Join(dir, ".ecode", "release-only"), []byte("x"), 0o644)
	os.Mkdir(data, 0o700)
	uid := int(nextUID.Add(1))
	open := func(id string) Workspace {
		w, err := r.Workspace(context.Background(), id, Spec{Dir: dir, UID: uid, Data: data})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	a := open(t.Name() + "-a")
	if res := sh(t, a, "echo one > .ecode/data.txt && ls .ecode", 30*time.Second); res.ExitCode != 0 || strings.Contains(string(res.Stdout), "release-only") {
		t.Fatalf("write through the data bind: %+v", res)
	}
	b := open(t.Name() + "-b")
	if res := sh(t, b, "cat .ecode/data.txt", 30*time.Second); strings.TrimSpace(string(res.Stdout)) != "one" {
		t.Fatalf("the second workspace sees %q", res.Stdout)
	}
	for _, w := range []Workspace{a, b} {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := os.ReadFile(filepath.Join(data, "data.txt")); err != nil || string(got) != "one\n" {
		t.Fatalf("host data: %q %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".ecode", "release-only")); err != nil {
		t.Fatalf("the release's own .ecode after close: %v", err)
	}

	evil := filepath.Join(root, "evil")
	os.MkdirAll(evil, 0o755)
	target := filepath.Join(root, "elsewhere")
	os.Mkdir(target, 0o755)
	os.Symlink(target, filepath.Join(evil, ".ecode"))
	if w, err := r.Workspace(context.Background(), t.Name()+"-evil", Spec{Dir: evil, UID: uid, Data: data}); err == nil {
		w.Close()
		t.Fatal("a .ecode symlink was followed for the data bind")
	}
	if ents, _ := os.ReadDir(target); len(ents) != 0 {
		t.Fatalf("the symlink's target got the data: %v", ents)
	}
}
