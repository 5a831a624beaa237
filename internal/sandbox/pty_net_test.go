//go:build linux

package sandbox

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func TestToolchains(t *testing.T) {
	t.Parallel()
	w := newWS(t, Limits{MemoryBytes: 512 << 20, MaxProcs: 128, CPU: 1})
	for _, c := range [][]string{
		{"python3", "-c", "print(1)"},
		{"node", "-e", "console.log(1)"},
		{"sh", "-c", "echo 1"},
	} {
		res := execOK(t, w, c...)
		if string(res.Stdout) != "1\n" {
			t.Errorf("%v: stdout %q stderr %q", c, res.Stdout, res.Stderr)
		}
	}
	if _, err := os.Stat("/usr/local/go/bin/go"); err == nil {
		res := execOK(t, w, "/usr/local/go/bin/go", "version")
		if !strings.HasPrefix(string(res.Stdout), "go version") {
			t.Errorf("go version: %q", res.Stdout)
		}
	}
}

// freeLoopbackPort returns a port nobody listens on in the host's netns.
func freeLoopbackPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestDialContext(t *testing.T) {
	t.Parallel()
	w := newWS(t, Limits{MemoryBytes: 256 << 20, MaxProcs: 64})
	port := freeLoopbackPort(t)
	lw := newLineWriter()
	p, err := w.Start(context.Background(), Cmd{Args: []string{"python3", "-c", fmt.Sprintf(`
import socket
s = socket.socket()
s.bind(("127.0.0.1", %d))
s.listen()
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.sendall(b"hello-from-sandbox")
    c.close()
`, port)}, Stdout: lw, Stderr: lw})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	waitLine(t, lw.ch, "listening", 10*time.Second)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if c, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
		b, _ := io.ReadAll(c)
		c.Close()
		t.Fatalf("the sandbox's port is reachable from the host's loopback (read %q)", b)
	}
	for _, a := range []string{addr, fmt.Sprintf("localhost:%d", port)} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := w.DialContext(ctx, "tcp", a)
		cancel()
		if err != nil {
			t.Fatalf("DialContext %s: %v", a, err)
		}
		b, _ := io.ReadAll(c)
		c.Close()
		if string(b) != "hello-from-sandbox" {
			t.Fatalf("read %q", b)
		}
	}
	if _, err := w.DialContext(context.Background(), "tcp", "example.com:80"); err == nil {
		t.Fatal("DialContext with a host name: want error")
	}
	// The dialing thread is back in the host namespace: a host listener is reachable.
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hl.Close()
	for range 20 {
		c, err := net.Dial("tcp", hl.Addr().String())
		if err != nil {
			t.Fatalf("host dial after DialContext: %v", err)
		}
		c.Close()
	}
	p.Kill()
	if res, _ := p.Wait(); res.Reason != ReasonKilled {
		t.Fatalf("kill: %+v", res)
	}
}

func TestNoneRunner(t *testing.T) {
	t.Parallel()
	r := None()
	defer r.Close()
	dir := t.TempDir()
	w, err := r.Workspace(context.Background(), "n1", Spec{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.Exec(context.Background(), Cmd{Args: []string{"sh", "-c", "pwd; echo $HOME"}})
	if err != nil || res.ExitCode != 0 || string(res.Stdout) != dir+"\n"+dir+"\n" {
		t.Fatalf("exec: %+v %v", res, err)
	}
	res, _ = w.Exec(context.Background(), Cmd{Args: []string{"sleep", "10"}, Timeout: 100 * time.Millisecond})
	if res.Reason != ReasonTimeout {
		t.Fatalf("timeout: %+v", res)
	}
	p, err := w.StartPTY(context.Background(), Cmd{Args: []string{"sh", "-c", "echo pty-ok"}}, 24, 80)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(p)
	if !strings.Contains(string(b), "pty-ok") {
		t.Fatalf("pty output %q", b)
	}
	p.Wait()
	p.Close()
	lw := newLineWriter()
	p, err = w.Start(context.Background(), Cmd{Args: []string{"sh", "-c", "echo up; sleep 100"}, Stdout: lw})
	if err != nil {
		t.Fatal(err)
	}
	waitLine(t, lw.ch, "up", 5*time.Second)
	w.KillAll()
	if res, _ := p.Wait(); res.Signal != "killed" {
		t.Fatalf("KillAll: %+v", res)
	}
}
