//go:build linux

package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var (
	runnerOnce   sync.Once
	sharedRunner *LocalRunner
	runnerErr    error
	testState    string
	nextUID      atomic.Int32
)

func TestMain(m *testing.M) {
	nextUID.Store(int32(230000 + os.Getpid()%1000*50))
	// Clean up even when the output pipe breaks (go test ... | head) or
	// the run is interrupted.
	signal.Ignore(syscall.SIGPIPE)
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sigc
		cleanupTestRunner()
		os.Exit(1)
	}()
	code := m.Run()
	if err := cleanupTestRunner(); err != nil {
		fmt.Fprintln(os.Stderr, "runner close:", err)
		code = 1
	}
	os.Exit(code)
}

var cleanupOnce sync.Once

func cleanupTestRunner() (err error) {
	cleanupOnce.Do(func() { err = closeTestRunner() })
	return err
}

func closeTestRunner() error {
	var err error
	if sharedRunner != nil {
		err = sharedRunner.Close()
		if sharedRunner.cg != nil {
			for _, p := range sharedRunner.cg.parent {
				os.Remove(p)
			}
		}
	}
	if testState != "" {
		os.RemoveAll(testState)
	}
	return err
}

// skipOrFail skips unless ECODE_REQUIRE_SANDBOX=1 (CI), where it fails.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("ECODE_REQUIRE_SANDBOX") == "1" {
		t.Fatalf("sandbox required: "+format, args...)
	}
	t.Skipf("sandbox not usable: "+format, args...)
}

func newTestStateDir(t testing.TB) string {
	d, err := os.MkdirTemp("", "ecode-sbx-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(d, 0o711)
	return d
}

// localRunner returns the runner shared by the tests (real bubblewrap).
func localRunner(t testing.TB) *LocalRunner {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "tests of the local runner need root")
	}
	if _, err := exec.LookPath("bwrap"); err != nil {
		skipOrFail(t, "bwrap not installed: %v", err)
	}
	runnerOnce.Do(func() {
		testState = newTestStateDir(t)
		sharedRunner = NewLocal(Options{StateDir: testState, CgroupPrefix: fmt.Sprintf("ecode-test-%d", os.Getpid())})
		runnerErr = sharedRunner.Check()
	})
	if runnerErr != nil {
		skipOrFail(t, "%v", runnerErr)
	}
	return sharedRunner
}

type testWS struct {
	Workspace
	dir     string // host project dir
	sibling string // host dir standing in for the data dir / another project
	uid     int
}

// newWS opens a workspace on a fresh project dir inside a root-only parent
// that also holds a secret sibling dir.
func newWS(t testing.TB, l Limits) *testWS {
	t.Helper()
	return newWSNamed(t, strings.ReplaceAll(t.Name(), "/", "_"), l)
}

func newWSNamed(t testing.TB, id string, l Limits) *testWS {
	t.Helper()
	r := localRunner(t)
	root, err := os.MkdirTemp("", "ecode-proj-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	dir, sib := filepath.Join(root, "project"), filepath.Join(root, "data")
	os.Mkdir(dir, 0o755)
	os.Mkdir(sib, 0o700)
	os.WriteFile(filepath.Join(sib, "secret.txt"), []byte("server secret"), 0o600)
	os.WriteFile(filepath.Join(dir, "hello.py"), []byte("print('hello from project')\n"), 0o644)
	uid := int(nextUID.Add(1))
	w, err := r.Workspace(context.Background(), id, Spec{Dir: dir, UID: uid, Limits: l})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return &testWS{Workspace: w, dir: dir, sibling: sib, uid: uid}
}

func execOK(t testing.TB, w Workspace, args ...string) Result {
	t.Helper()
	res, err := w.Exec(context.Background(), Cmd{Args: args, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("exec %q: %v", args, err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("exec %q: exit %d reason %q\nstdout: %s\nstderr: %s", args, res.ExitCode, res.Reason, res.Stdout, res.Stderr)
	}
	return res
}

func sh(t testing.TB, w Workspace, script string, timeout time.Duration) Result {
	t.Helper()
	res, err := w.Exec(context.Background(), Cmd{Args: []string{"/bin/sh", "-c", script}, Timeout: timeout})
	if err != nil {
		t.Fatalf("exec %q: %v", script, err)
	}
	return res
}

// lineWriter sends each complete line to a channel (for waiting on output).
type lineWriter struct {
	mu  sync.Mutex
	buf []byte
	ch  chan string
	all strings.Builder
}

func newLineWriter() *lineWriter { return &lineWriter{ch: make(chan string, 100)} }

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all.Write(p)
	l.buf = append(l.buf, p...)
	for {
		i := strings.IndexByte(string(l.buf), '\n')
		if i < 0 {
			break
		}
		select {
		case l.ch <- string(l.buf[:i]):
		default:
		}
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

func waitLine(t testing.TB, ch <-chan string, want string, timeout time.Duration) {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case l := <-ch:
			if strings.Contains(l, want) {
				return
			}
		case <-timer.C:
			t.Fatalf("timed out waiting for %q", want)
		}
	}
}

func fmtSscan(s string, v any) (int, error) { return fmt.Sscan(s, v) }

// processesOfUID lists host processes whose real uid is uid.
func processesOfUID(uid int) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue
		}
		st := string(b)
		if strings.Contains(st, "\nState:\tZ") { // dead, waiting to be reaped
			continue
		}
		for _, l := range strings.Split(st, "\n") {
			if f := strings.Fields(l); len(f) > 1 && f[0] == "Uid:" && f[1] == fmt.Sprint(uid) {
				name, _, _ := strings.Cut(st, "\n")
				out = append(out, e.Name()+" "+name)
			}
		}
	}
	return out
}

// pidsCurrent reads the workspace's pids.current (tasks charged, zombies included).
func pidsCurrent(c *cgroup) int64 {
	return readInt(filepath.Join(c.procDir(), "pids.current"))
}
