//go:build linux

package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCleanupAfterCrash leaves a workspace running (as if the server died)
// and checks that a new runner's Cleanup removes processes, cgroups and
// mounts.
func TestCleanupAfterCrash(t *testing.T) {
	localRunner(t) // skip unless usable
	state := newTestStateDir(t)
	defer os.RemoveAll(state)
	opts := Options{StateDir: state, CgroupPrefix: fmt.Sprintf("ecode-test-crash-%d", os.Getpid())}
	a := NewLocal(opts)
	dir := t.TempDir()
	uid := int(nextUID.Add(1))
	w, err := a.Workspace(context.Background(), "crashy", Spec{Dir: dir, UID: uid, Limits: Limits{MemoryBytes: 128 << 20, MaxProcs: 32}})
	if err != nil {
		t.Fatal(err)
	}
	lw := newLineWriter()
	p, err := w.Start(context.Background(), Cmd{Args: []string{"sh", "-c", "setsid sleep 1000 & echo up; sleep 1000"}, Stdout: lw})
	if err != nil {
		t.Fatal(err)
	}
	waitLine(t, lw.ch, "up", 10*time.Second)
	lws := w.(*localWorkspace)
	cgDirs := lws.cg.unique()
	exited := lws.sb.exited

	b := NewLocal(opts) // the "restarted server"
	defer func() {
		b.Close()
		for _, p := range b.cg.parent {
			os.Remove(p)
		}
	}()
	if err := b.Cleanup(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("old sandbox still running after Cleanup")
	}
	if res, _ := p.Wait(); res.Reason != ReasonKilled {
		t.Fatalf("old process: %+v", res)
	}
	for _, d := range cgDirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Fatalf("cgroup %s left after Cleanup", d)
		}
	}
	if pids := processesOfUID(uid); len(pids) != 0 {
		t.Fatalf("processes left: %v", pids)
	}
	mps, _ := mountPoints()
	if mps[dir] || mps[filepath.Join(state, "ws", "crashy", "w")] {
		t.Fatal("mounts left after Cleanup")
	}
	if _, err := os.Stat(filepath.Join(state, "ws", "crashy")); !os.IsNotExist(err) {
		t.Fatal("workspace state dir left after Cleanup")
	}
	// The workspace opens again after Cleanup, with its files.
	w2, err := b.Workspace(context.Background(), "crashy", Spec{Dir: dir, UID: uid, Limits: Limits{MemoryBytes: 128 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	execOK(t, w2, "ls", "/workspace")
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
}
