// Package sandboxtest is the behaviour every sandbox.Workspace backend
// shares, written once as a test suite: the local bubblewrap runner and the
// remote (pod) workspace both run it.
package sandboxtest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ecode/internal/sandbox"
)

// Caps says what a backend enforces beyond the common behaviour.
type Caps struct {
	// MemoryLimit: Limits.MemoryBytes is enforced and reported as
	// Result.Reason "out_of_memory".
	MemoryLimit bool
}

// Open opens a fresh workspace with limits l; it closes it in t.Cleanup.
type Open func(t *testing.T, l sandbox.Limits) sandbox.Workspace

// defaultLimits leave room for python3 and a shell.
var defaultLimits = sandbox.Limits{MemoryBytes: 256 << 20, MaxProcs: 128, CPU: 1}

// Run runs the shared suite against the backend open returns.
func Run(t *testing.T, open Open, caps Caps) {
	t.Run("Exec", func(t *testing.T) { testExec(t, open(t, defaultLimits)) })
	t.Run("OutputLimit", func(t *testing.T) { testOutputLimit(t, open(t, defaultLimits)) })
	t.Run("Timeout", func(t *testing.T) { testTimeout(t, open(t, defaultLimits)) })
	t.Run("Start", func(t *testing.T) { testStart(t, open(t, defaultLimits)) })
	t.Run("PTY", func(t *testing.T) { testPTY(t, open(t, defaultLimits)) })
	t.Run("Dial", func(t *testing.T) { testDial(t, open(t, defaultLimits)) })
	t.Run("KillAll", func(t *testing.T) { testKillAll(t, open(t, defaultLimits)) })
	t.Run("ActivityAndUsage", func(t *testing.T) { testActivity(t, open(t, defaultLimits)) })
	t.Run("Close", func(t *testing.T) { testClose(t, open(t, defaultLimits)) })
	if caps.MemoryLimit {
		t.Run("MemoryLimit", func(t *testing.T) {
			testMemoryLimit(t, open(t, sandbox.Limits{MemoryBytes: 64 << 20, MaxProcs: 64}))
		})
	}
}

// Sh runs script with sh -c and fails the test on an error.
func Sh(t testing.TB, w sandbox.Workspace, script string) sandbox.Result {
	t.Helper()
	res, err := w.Exec(context.Background(), sandbox.Cmd{Args: []string{"sh", "-c", script}, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("exec %q: %v", script, err)
	}
	return res
}

// LineWriter sends each complete line written to it to C.
type LineWriter struct {
	mu  sync.Mutex
	buf []byte
	C   chan string
}

// NewLineWriter returns a LineWriter with a buffered channel.
func NewLineWriter() *LineWriter { return &LineWriter{C: make(chan string, 100)} }

func (l *LineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		select {
		case l.C <- string(l.buf[:i]):
		default:
		}
		l.buf = l.buf[i+1:]
	}
}

// WaitLine waits for a line containing want.
func WaitLine(t testing.TB, ch <-chan string, want string) string {
	t.Helper()
	timer := time.NewTimer(15 * time.Second)
	defer timer.Stop()
	for {
		select {
		case l := <-ch:
			if strings.Contains(l, want) {
				return l
			}
		case <-timer.C:
			t.Fatalf("timed out waiting for %q", want)
			return ""
		}
	}
}

func testExec(t *testing.T, w sandbox.Workspace) {
	res := Sh(t, w, "echo out; echo err >&2; exit 3")
	if res.ExitCode != 3 || string(res.Stdout) != "out\n" || string(res.Stderr) != "err\n" || res.Reason != "" || res.Signal != "" {
		t.Fatalf("exit 3: %+v", res)
	}
	res = Sh(t, w, "kill -9 $$")
	if res.ExitCode != 137 || res.Signal != "killed" {
		t.Fatalf("killed by a signal: %+v", res)
	}
	// Commands start with default signal dispositions: yes dies of SIGPIPE
	// quietly instead of reporting a write error.
	if res := Sh(t, w, "yes | head -n 1"); res.ExitCode != 0 || string(res.Stdout) != "y\n" || len(res.Stderr) != 0 {
		t.Fatalf("SIGPIPE: %+v (stderr %q)", res, res.Stderr)
	}
	root := strings.TrimSpace(string(Sh(t, w, "pwd").Stdout))
	if Sh(t, w, "mkdir -p sub").ExitCode != 0 {
		t.Fatal("mkdir failed")
	}
	res, err := w.Exec(context.Background(), sandbox.Cmd{Args: []string{"sh", "-c", "pwd; echo $FOO; cat"},
		Env: []string{"FOO=bar"}, Dir: "sub", Stdin: strings.NewReader("from stdin")})
	if want := root + "/sub\nbar\nfrom stdin"; err != nil || string(res.Stdout) != want {
		t.Fatalf("env/dir/stdin: got %q %v, want %q", res.Stdout, err, want)
	}
	if _, err := w.Exec(context.Background(), sandbox.Cmd{Args: []string{"no-such-command-ecode"}}); err == nil {
		t.Fatal("missing command: want an error")
	}
	if _, err := w.Exec(context.Background(), sandbox.Cmd{}); err == nil {
		t.Fatal("empty command: want an error")
	}
}

func testOutputLimit(t *testing.T, w sandbox.Workspace) {
	res, err := w.Exec(context.Background(), sandbox.Cmd{
		Args:        []string{"sh", "-c", `head -c 5000 /dev/zero | tr '\0' a; echo e >&2`},
		OutputLimit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Repeat("a", 1000) + "\n[output truncated: 4000 more bytes]\n"
	if string(res.Stdout) != want || !res.StdoutTruncated || res.StderrTruncated || string(res.Stderr) != "e\n" {
		t.Fatalf("capped output: %d bytes %q…, truncated %v/%v, stderr %q", len(res.Stdout), tail(res.Stdout), res.StdoutTruncated, res.StderrTruncated, res.Stderr)
	}
	// Below the default limit, a large output arrives whole.
	res = Sh(t, w, `head -c 300000 /dev/zero | tr '\0' b`)
	if len(res.Stdout) != 300000 || res.StdoutTruncated || strings.Trim(string(res.Stdout), "b") != "" {
		t.Fatalf("300 kB output: got %d bytes, truncated %v", len(res.Stdout), res.StdoutTruncated)
	}
}

func tail(b []byte) string { return string(b[max(0, len(b)-60):]) }

func testTimeout(t *testing.T, w sandbox.Workspace) {
	res, err := w.Exec(context.Background(), sandbox.Cmd{Args: []string{"sleep", "10"}, Timeout: 200 * time.Millisecond})
	if err != nil || res.Reason != sandbox.ReasonTimeout || res.Signal != "killed" {
		t.Fatalf("Cmd.Timeout: %+v %v", res, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	res, err = w.Exec(ctx, sandbox.Cmd{Args: []string{"sleep", "10"}})
	if err != nil || res.Reason != sandbox.ReasonTimeout {
		t.Fatalf("ctx deadline: %+v %v", res, err)
	}
	if res.Duration > 5*time.Second {
		t.Fatalf("ctx deadline: took %v", res.Duration)
	}
}

func testStart(t *testing.T, w sandbox.Workspace) {
	out, errs := NewLineWriter(), NewLineWriter()
	p, err := w.Start(context.Background(), sandbox.Cmd{Args: []string{"sh", "-c", "echo up; echo warn >&2; cat; echo done"},
		Stdin: strings.NewReader("piped\n"), Stdout: out, Stderr: errs})
	if err != nil {
		t.Fatal(err)
	}
	WaitLine(t, out.C, "up")
	WaitLine(t, errs.C, "warn")
	WaitLine(t, out.C, "piped")
	// The exit status comes after all output.
	if res, err := p.Wait(); err != nil || res.ExitCode != 0 {
		t.Fatalf("wait: %+v %v", res, err)
	}
	select {
	case l := <-out.C:
		if l != "done" {
			t.Fatalf("last line %q", l)
		}
	default:
		t.Fatal("the output's last line was not delivered before Wait returned")
	}

	ctx, cancel := context.WithCancel(context.Background())
	out = NewLineWriter()
	p, err = w.Start(ctx, sandbox.Cmd{Args: []string{"sh", "-c", "echo up; sleep 100"}, Stdout: out})
	if err != nil {
		t.Fatal(err)
	}
	if p.Pid() <= 0 {
		t.Fatalf("pid %d", p.Pid())
	}
	WaitLine(t, out.C, "up")
	cancel()
	if res, _ := p.Wait(); res.Reason != sandbox.ReasonKilled || res.Signal != "killed" {
		t.Fatalf("ctx cancel: %+v", res)
	}

	out = NewLineWriter()
	p, err = w.Start(context.Background(), sandbox.Cmd{Args: []string{"sh", "-c",
		"trap 'echo got-term; exit 5' TERM; echo up; while :; do sleep 0.1; done"}, Stdout: out})
	if err != nil {
		t.Fatal(err)
	}
	WaitLine(t, out.C, "up")
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	WaitLine(t, out.C, "got-term")
	if res, _ := p.Wait(); res.ExitCode != 5 {
		t.Fatalf("SIGTERM trapped: %+v", res)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	p, err = w.Start(ctx, sandbox.Cmd{Args: []string{"sleep", "100"}})
	if err != nil {
		t.Fatal(err)
	}
	if res, _ := p.Wait(); res.Reason != sandbox.ReasonTimeout {
		t.Fatalf("ctx deadline: %+v", res)
	}
	if _, err := w.Start(context.Background(), sandbox.Cmd{Args: []string{"no-such-command-ecode"}}); err == nil {
		t.Fatal("missing command: want an error")
	}
}

func testKillAll(t *testing.T, w sandbox.Workspace) {
	var procs []*sandbox.Process
	for range 2 {
		out := NewLineWriter()
		p, err := w.Start(context.Background(), sandbox.Cmd{Args: []string{"sh", "-c", "echo up; sleep 100"}, Stdout: out})
		if err != nil {
			t.Fatal(err)
		}
		WaitLine(t, out.C, "up")
		procs = append(procs, p)
	}
	if err := w.KillAll(); err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		if res, _ := p.Wait(); res.Signal != "killed" {
			t.Fatalf("KillAll: %+v", res)
		}
	}
	if res := Sh(t, w, "echo again"); string(res.Stdout) != "again\n" {
		t.Fatalf("after KillAll: %+v", res)
	}
}

func testActivity(t *testing.T, w sandbox.Workspace) {
	before := w.LastActivity()
	Sh(t, w, "true")
	if !w.LastActivity().After(before) {
		t.Fatal("LastActivity did not advance with Exec")
	}
	if _, err := w.Usage(); err != nil {
		t.Fatalf("usage: %v", err)
	}
}

func testClose(t *testing.T, w sandbox.Workspace) {
	out := NewLineWriter()
	p, err := w.Start(context.Background(), sandbox.Cmd{Args: []string{"sh", "-c", "echo up; sleep 100"}, Stdout: out})
	if err != nil {
		t.Fatal(err)
	}
	WaitLine(t, out.C, "up")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if res, _ := p.Wait(); res.Signal != "killed" && res.ExitCode == 0 {
		t.Fatalf("Close left the process running or ended it cleanly: %+v", res)
	}
	if _, err := w.Exec(context.Background(), sandbox.Cmd{Args: []string{"true"}}); !errors.Is(err, sandbox.ErrClosed) {
		t.Fatalf("Exec after Close: %v", err)
	}
	if _, err := w.Start(context.Background(), sandbox.Cmd{Args: []string{"true"}}); !errors.Is(err, sandbox.ErrClosed) {
		t.Fatalf("Start after Close: %v", err)
	}
}

func testMemoryLimit(t *testing.T, w sandbox.Workspace) {
	res, err := w.Exec(context.Background(), sandbox.Cmd{Args: []string{"python3", "-c", "b = bytearray(512 << 20); print(len(b))"},
		Timeout: 60 * time.Second})
	if err != nil || res.Reason != sandbox.ReasonOutOfMemory {
		t.Fatalf("over the memory limit: %+v %v", res, err)
	}
}
