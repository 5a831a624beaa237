//go:build linux

package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The host's real hierarchy is exercised by the containment tests (v1 on a
// hybrid host, v2 where the unified hierarchy has the controllers). These
// tests cover the parsing and the v2 file protocol on a fake cgroupfs.

func TestCgroupMountsAndOwn(t *testing.T) {
	dir := t.TempDir()
	mi := filepath.Join(dir, "mountinfo")
	os.WriteFile(mi, []byte(`31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`), 0o644)
	m, err := cgroupMounts(mi)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"": "/sys/fs/cgroup/unified", "cpu": "/sys/fs/cgroup/cpu,cpuacct", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct", "memory": "/sys/fs/cgroup/memory", "pids": "/sys/fs/cgroup/pids"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("mount of %q = %q, want %q", k, m[k], v)
		}
	}
	cg := filepath.Join(dir, "cgroup")
	os.WriteFile(cg, []byte("8:pids:/\n4:memory:/process_api/abc\n2:cpu,cpuacct:/x\n0::/system.slice/ecode.service\n"), 0o644)
	own, err := ownCgroups(cg)
	if err != nil {
		t.Fatal(err)
	}
	if own["memory"] != "/process_api/abc" || own["cpuacct"] != "/x" || own[""] != "/system.slice/ecode.service" || own["pids"] != "/" {
		t.Fatalf("own cgroups: %v", own)
	}
}

func TestCgroupV2Files(t *testing.T) {
	d := t.TempDir()
	c := &cgroup{v2: true, dirs: map[string]string{"": d}}
	os.WriteFile(filepath.Join(d, "memory.swap.max"), []byte("max\n"), 0o644)
	if err := c.apply(Limits{MemoryBytes: 256 << 20, MaxProcs: 64, CPU: 0.5}); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"memory.max": "268435456", "memory.swap.max": "0", "pids.max": "80", "cpu.max": "50000 100000",
	} {
		b, _ := os.ReadFile(filepath.Join(d, file))
		if strings.TrimSpace(string(b)) != want {
			t.Errorf("%s = %q, want %q", file, b, want)
		}
	}
	os.WriteFile(filepath.Join(d, "memory.events"), []byte("low 0\nhigh 0\nmax 3\noom 2\noom_kill 2\n"), 0o644)
	os.WriteFile(filepath.Join(d, "pids.events"), []byte("max 5\n"), 0o644)
	os.WriteFile(filepath.Join(d, "cpu.stat"), []byte("usage_usec 1500000\nuser_usec 1000000\n"), 0o644)
	os.WriteFile(filepath.Join(d, "memory.current"), []byte("1000\n"), 0o644)
	os.WriteFile(filepath.Join(d, "memory.peak"), []byte("2000\n"), 0o644)
	if got := c.counters(); got.oomKills != 2 || got.pidsLimit != 5 {
		t.Fatalf("counters %+v", got)
	}
	if u := c.usage(); u.CPUTime != 1500*time.Millisecond || u.MemoryBytes != 1000 || u.MemoryPeakBytes != 2000 {
		t.Fatalf("usage %+v", u)
	}
	if c.procDir() != d {
		t.Fatal("v2 procs dir")
	}
}

func TestCheckWithoutBwrap(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to get past the root check")
	}
	err := NewLocal(Options{BwrapPath: "/nonexistent/bwrap", StateDir: t.TempDir()}).Check()
	if err == nil || !strings.Contains(err.Error(), "bubblewrap not found") {
		t.Fatalf("Check without bwrap: %v", err)
	}
}

func TestSeccompProgramShape(t *testing.T) {
	p := seccompProgram()
	if auditArch == 0 {
		t.Skip("no seccomp table for this architecture")
	}
	if len(p) < 50 || len(p) > 4096 {
		t.Fatalf("unexpected program length %d", len(p))
	}
	if last := p[len(p)-1]; last.Code != bpfRET|bpfK || last.K != seccompRetAllow {
		t.Fatalf("default action is not allow: %+v", last)
	}
}

func TestChownTreeNoFollow(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	root := t.TempDir()
	outside := filepath.Join(root, "outside")
	os.WriteFile(outside, []byte("x"), 0o644)
	proj := filepath.Join(root, "proj")
	os.MkdirAll(filepath.Join(proj, "a", "b"), 0o755)
	os.WriteFile(filepath.Join(proj, "a", "b", "f"), []byte("x"), 0o644)
	os.Symlink(outside, filepath.Join(proj, "link"))
	os.Symlink(root, filepath.Join(proj, "a", "dirlink"))
	if err := chownTree(proj, 54321); err != nil {
		t.Fatal(err)
	}
	owner := func(p string) int {
		var st syscall.Stat_t
		syscall.Lstat(p, &st)
		return int(st.Uid)
	}
	for _, p := range []string{proj, filepath.Join(proj, "a", "b", "f"), filepath.Join(proj, "link"), filepath.Join(proj, "a", "dirlink")} {
		if owner(p) != 54321 {
			t.Errorf("%s not chowned", p)
		}
	}
	if owner(outside) != 0 || owner(root) != 0 {
		t.Fatal("chownTree followed a symlink out of the tree")
	}
}
