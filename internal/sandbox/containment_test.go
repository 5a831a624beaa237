//go:build linux

package sandbox

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Each case must stay contained.

func TestContainFilesystem(t *testing.T) {
	t.Parallel()
	w := newWS(t, Limits{MemoryBytes: 256 << 20, MaxProcs: 128})
	for _, c := range []struct{ name, script string }{
		{"read /etc/shadow", "cat /etc/shadow"},
		{"read sibling data dir", "cat " + filepath.Join(w.sibling, "secret.txt")},
		{"list sibling data dir", "ls " + w.sibling},
		{"read project via host path", "cat " + filepath.Join(w.dir, "hello.py")},
		{"write /usr", "touch /usr/pwned"},
		{"write /etc", "touch /etc/pwned"},
		{"write /", "touch /pwned"},
		{"write supervisor", "echo x > /.ecode/init"},
		{"mount tmpfs", "mount -t tmpfs none /mnt"},
		{"nested user namespace", "unshare -Ur true"},
		{"chroot", "chroot / true"},
	} {
		res := sh(t, w, c.script, 10*time.Second)
		if res.ExitCode == 0 {
			t.Errorf("%s: succeeded inside the sandbox: %s", c.name, res.Stdout)
		}
	}
	if _, err := os.Stat("/pwned"); err == nil {
		t.Fatal("/pwned exists on the host")
	}
	res := execOK(t, w, "python3", "-c", "import os; print(sorted(os.listdir('/proc/self/fd')))")
	if string(res.Stdout) != "['0', '1', '2', '3']\n" { // 3: listdir's own fd
		t.Errorf("fds leaked into the command: %s", res.Stdout)
	}
	res = execOK(t, w, "sh", "-c", `grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status; ls /`)
	out := string(res.Stdout)
	for _, want := range []string{"CapEff:\t0000000000000000", "CapBnd:\t0000000000000000", "NoNewPrivs:\t1", "Seccomp:\t2"} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in %q", want, out)
		}
	}
	for _, bad := range []string{"root\n", "work\n", "home\n", "var\n"} {
		if strings.Contains(out, "\n"+bad) {
			t.Errorf("host directory %q visible in sandbox root: %s", bad, out)
		}
	}
}

func TestContainNetwork(t *testing.T) {
	t.Parallel()
	w := newWS(t, Limits{MemoryBytes: 256 << 20, MaxProcs: 128})
	// Only lo exists, so a non-loopback connect fails at once with
	// ENETUNREACH; no packet can leave.
	res := execOK(t, w, "python3", "-c", `
import socket, errno, time
t = time.monotonic()
s = socket.socket()
s.settimeout(5)
try:
    s.connect(("10.255.255.1", 80))
    print("CONNECTED")
except OSError as e:
    print(errno.errorcode.get(e.errno), round(time.monotonic() - t, 3))
print(open("/proc/net/dev").read())
`)
	out := string(res.Stdout)
	if !strings.HasPrefix(out, "ENETUNREACH ") {
		t.Fatalf("connect to 10.255.255.1:80: %s", out)
	}
	var secs float64
	if _, err := fmtSscan(strings.Fields(out)[1], &secs); err != nil || secs > 0.5 {
		t.Fatalf("connect did not fail immediately: %s", out)
	}
	t.Logf("connect 10.255.255.1:80 from the sandbox: %s", strings.SplitN(out, "\n", 2)[0])
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var ifaces []string
	for _, l := range lines[3:] { // after result and two header lines
		if name, _, ok := strings.Cut(strings.TrimSpace(l), ":"); ok {
			ifaces = append(ifaces, name)
		}
	}
	if len(ifaces) != 1 || ifaces[0] != "lo" {
		t.Fatalf("interfaces in sandbox: %v", ifaces)
	}
}

func TestContainForkBomb(t *testing.T) {
	t.Parallel()
	w := newWS(t, Limits{MemoryBytes: 256 << 20, MaxProcs: 64})
	// A long-running process that must survive the bombs.
	inR, inW := io.Pipe()
	defer inW.Close()
	lw := newLineWriter()
	keep, err := w.Start(context.Background(), Cmd{Args: []string{"sh", "-c", `echo up; while read l; do echo "got $l"; done`}, Stdin: inR, Stdout: lw})
	if err != nil {
		t.Fatal(err)
	}
	waitLine(t, lw.ch, "up", 10*time.Second)

	res := sh(t, w, `while sleep 1000 & do :; done`, 20*time.Second)
	if res.Reason != ReasonProcessLimit || res.ExitCode == 0 {
		t.Fatalf("fork loop: %+v stderr %s", res, res.Stderr)
	}
	t.Logf("fork loop: exit %d reason %s after %v: %s", res.ExitCode, res.Reason, res.Duration, strings.TrimSpace(string(res.Stderr)))
	// A real fork bomb; its leftovers die with the command's session.
	res = sh(t, w, `b() { b | b & }; b; sleep 2; exit 1`, 20*time.Second)
	if res.Reason != ReasonProcessLimit {
		t.Fatalf("fork bomb: %+v", res)
	}
	execOK(t, w, "true") // the workspace still works
	if n := len(w.Workspace.(*localWorkspace).cg.procs()); n > 4 {
		t.Fatalf("%d processes left in the workspace cgroup", n)
	}
	io.WriteString(inW, "ping\n")
	waitLine(t, lw.ch, "got ping", 10*time.Second)
	inW.Close()
	if res, _ := keep.Wait(); res.ExitCode != 0 {
		t.Fatalf("long-running process: %+v", res)
	}
}

func TestContainMemory(t *testing.T) {
	t.Parallel()
	w := newWS(t, Limits{MemoryBytes: 128 << 20, MaxProcs: 64})
	res := execOK(t, w, "python3", "-c", "print(1)") // fits
	res = sh(t, w, `python3 -c 'a=[]
while True: a.append(bytearray(16<<20))'`, 30*time.Second)
	if res.Reason != ReasonOutOfMemory || res.ExitCode != 137 {
		t.Fatalf("allocation past the limit: %+v stderr %s", res, res.Stderr)
	}
	u, _ := w.Usage()
	t.Logf("OOM: exit %d reason %s after %v; memory peak %d bytes (limit %d)", res.ExitCode, res.Reason, res.Duration, u.MemoryPeakBytes, 128<<20)
	if u.MemoryPeakBytes > 128<<20 || u.MemoryPeakBytes < 64<<20 {
		t.Fatalf("memory peak %d outside (64 MiB, 128 MiB]", u.MemoryPeakBytes)
	}
	execOK(t, w, "true")
}

func TestContainCPU(t *testing.T) {
	t.Parallel()
	const limit = 0.5
	w := newWS(t, Limits{MemoryBytes: 256 << 20, MaxProcs: 64, CPU: limit})
	execOK(t, w, "true") // sandbox up
	u0, _ := w.Usage()
	start := time.Now()
	res := sh(t, w, `for i in 1 2 3 4; do (while :; do :; done) & done; wait`, 2*time.Second)
	wall := time.Since(start)
	u1, _ := w.Usage()
	share := (u1.CPUTime - u0.CPUTime).Seconds() / wall.Seconds()
	t.Logf("4 spinning threads under %.2f CPU: cpu %v over %v wall = %.3f", limit, u1.CPUTime-u0.CPUTime, wall, share)
	if res.Reason != ReasonTimeout {
		t.Fatalf("spin: %+v", res)
	}
	if share > limit+0.1 {
		t.Fatalf("CPU share %.3f above limit %.2f", share, limit)
	}
	if share <= 0 {
		t.Fatalf("CPU share %.3f: spinning did not run", share)
	}
}

func TestContainOutput(t *testing.T) {
	t.Parallel()
	w := newWS(t, Limits{MemoryBytes: 256 << 20, MaxProcs: 64})
	execOK(t, w, "true")
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	res := sh(t, w, `yes >&2 & yes`, 2*time.Second) // endless on both streams
	runtime.GC()
	runtime.ReadMemStats(&m1)
	if !res.StdoutTruncated || !res.StderrTruncated || len(res.Stdout) > DefaultOutputLimit+100 || len(res.Stderr) > DefaultOutputLimit+100 {
		t.Fatalf("output not capped: %d/%d bytes", len(res.Stdout), len(res.Stderr))
	}
	if res.Reason != ReasonTimeout || !strings.Contains(string(res.Stdout[len(res.Stdout)-60:]), "\n[output truncated: ") {
		t.Fatalf("missing truncation marker: %q", res.Stdout[len(res.Stdout)-80:])
	}
	growth := int64(m1.HeapAlloc) - int64(m0.HeapAlloc)
	t.Logf("heap growth after endless stdout+stderr for 2 s: %d bytes (%s)", growth, res.Stdout[len(res.Stdout)-50:])
	if growth > 16<<20 {
		t.Fatalf("heap grew by %d bytes", growth)
	}
}

func TestKillAllAndClose(t *testing.T) {
	t.Parallel()
	w := newWS(t, Limits{MemoryBytes: 256 << 20, MaxProcs: 64})
	lw := newLineWriter()
	p, err := w.Start(context.Background(), Cmd{Args: []string{"sh", "-c", "sleep 1000 & sleep 1000 & echo started; wait"}, Stdout: lw})
	if err != nil {
		t.Fatal(err)
	}
	waitLine(t, lw.ch, "started", 10*time.Second)
	lw2 := newLineWriter()
	p2, err := w.Start(context.Background(), Cmd{Args: []string{"sh", "-c", "setsid sleep 1000 & echo started; wait"}, Stdout: lw2})
	if err != nil {
		t.Fatal(err)
	}
	waitLine(t, lw2.ch, "started", 10*time.Second)
	lws := w.Workspace.(*localWorkspace)
	if n := len(lws.cg.procs()); n < 6 {
		t.Fatalf("only %d processes in the cgroup", n)
	}
	if err := w.KillAll(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*Process{p, p2} {
		res, _ := p.Wait()
		if res.Reason != ReasonKilled {
			t.Fatalf("after KillAll: %+v", res)
		}
	}
	if n := lws.cg.procs(); len(n) != 0 {
		t.Fatalf("processes left after KillAll: %v", n)
	}
	// Nothing stays charged either (an unreaped zombie would be).
	for i := range 5 {
		if cur := pidsCurrent(lws.cg); cur != 0 {
			t.Fatalf("restart %d: pids.current = %d after KillAll", i, cur)
		}
		execOK(t, w, "true")
		if err := w.KillAll(); err != nil {
			t.Fatal(err)
		}
	}
	execOK(t, w, "true") // a fresh sandbox starts
	p3, err := w.Start(context.Background(), Cmd{Args: []string{"sleep", "1000"}})
	if err != nil {
		t.Fatal(err)
	}
	dirs := lws.cg.unique()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if res, _ := p3.Wait(); res.Reason != ReasonKilled {
		t.Fatalf("after Close: %+v", res)
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Fatalf("cgroup %s still exists after Close", d)
		}
	}
	if m := mountsUnder(lws.dir); len(m) != 0 {
		t.Fatalf("mounts left: %v", m)
	}
	if pids := processesOfUID(w.uid); len(pids) != 0 {
		t.Fatalf("processes of uid %d left: %v", w.uid, pids)
	}
	if _, err := w.Exec(context.Background(), Cmd{Args: []string{"true"}}); err == nil {
		t.Fatal("Exec after Close succeeded")
	}
}

func TestContainSeccomp(t *testing.T) {
	t.Parallel()
	w := newWS(t, Limits{MemoryBytes: 256 << 20, MaxProcs: 64})
	res := execOK(t, w, "python3", "-c", `
import ctypes, os, fcntl, termios
libc = ctypes.CDLL(None, use_errno=True)
def sc(name, nr, *args):
    ctypes.set_errno(0)
    r = libc.syscall(nr, *args)
    print(name, r, ctypes.get_errno())
sc("ptrace", 101, 0, 0, 0, 0)           # PTRACE_TRACEME
sc("unshare", 272, 0x40000000)          # CLONE_NEWNET
sc("bpf", 321, 0, 0, 0)
sc("keyctl", 250, 0, 0, 0)
sc("mount", 165, 0, 0, 0, 0, 0)
sc("clone3", 435, 0, 0)
sc("io_uring_setup", 425, 1, 0)
fd = os.open("/dev/null", os.O_RDONLY)
try:
    fcntl.ioctl(fd, termios.TIOCSTI, b"x")
    print("tiocsti 0 0")
except OSError as e:
    print("tiocsti -1", e.errno)
`)
	want := "ptrace -1 1\nunshare -1 1\nbpf -1 1\nkeyctl -1 1\nmount -1 1\nclone3 -1 38\nio_uring_setup -1 38\ntiocsti -1 1\n"
	if string(res.Stdout) != want {
		t.Fatalf("syscalls in the sandbox:\n%s\nwant:\n%s", res.Stdout, want)
	}
	// Threads and subprocesses still work under the filter.
	execOK(t, w, "python3", "-c", "import subprocess, threading; subprocess.run(['true'], check=True); t=threading.Thread(target=print); t.start(); t.join()")
	execOK(t, w, "node", "-e", "require('child_process').execFileSync('true'); new (require('worker_threads').Worker)('1', {eval: true})")
}

func TestContainCrossWorkspace(t *testing.T) {
	t.Parallel()
	a := newWSNamed(t, "cross-a", Limits{MemoryBytes: 256 << 20, MaxProcs: 64})
	b := newWSNamed(t, "cross-b", Limits{MemoryBytes: 256 << 20, MaxProcs: 64})
	os.WriteFile(filepath.Join(a.dir, "a-secret.txt"), []byte("a"), 0o600)
	lw := newLineWriter()
	pa, err := a.Start(context.Background(), Cmd{Args: []string{"python3", "-c", `
import socket
s = socket.socket(); s.bind(("127.0.0.1", 7777)); s.listen()
print("listening", flush=True)
s.accept()
`}, Stdout: lw})
	if err != nil {
		t.Fatal(err)
	}
	defer pa.Kill()
	waitLine(t, lw.ch, "listening", 10*time.Second)
	for _, script := range []string{
		"cat " + filepath.Join(a.dir, "a-secret.txt"),
		"ps -eo args | grep -v grep | grep -q 'socket.socket' ",
		`python3 -c 'import socket; socket.create_connection(("127.0.0.1", 7777), timeout=2)'`,
		"kill -0 " + fmt.Sprint(pa.Pid()) + " && ps -o args= -p " + fmt.Sprint(pa.Pid()) + " | grep -q python",
	} {
		if res := sh(t, b, script, 10*time.Second); res.ExitCode == 0 {
			t.Errorf("workspace b reached workspace a: %q", script)
		}
	}
	// b may use the same port number in its own namespace.
	execOK(t, b, "python3", "-c", `import socket; s = socket.socket(); s.bind(("127.0.0.1", 7777))`)
}
