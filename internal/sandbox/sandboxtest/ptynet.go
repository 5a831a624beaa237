package sandboxtest

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"ecode/internal/sandbox"
)

// readUntil reads terminal output from out into buf until it contains want.
func readUntil(t *testing.T, out <-chan string, buf *strings.Builder, want string) {
	t.Helper()
	timer := time.NewTimer(15 * time.Second)
	defer timer.Stop()
	for !strings.Contains(buf.String(), want) {
		select {
		case s, ok := <-out:
			if !ok {
				t.Fatalf("terminal closed before %q; got %q", want, buf.String())
			}
			buf.WriteString(s)
		case <-timer.C:
			t.Fatalf("timed out waiting for %q; got %q", want, buf.String())
		}
	}
}

func testPTY(t *testing.T, w sandbox.Workspace) {
	p, err := w.StartPTY(context.Background(), sandbox.Cmd{Args: []string{"sh", "-i"}}, 24, 80)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	out := make(chan string, 64)
	go func() {
		defer close(out)
		b := make([]byte, 4096)
		for {
			n, err := p.Read(b)
			if n > 0 {
				out <- string(b[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	var buf strings.Builder
	io.WriteString(p, "echo h''i\n") // the echoed input does not contain "hi"
	readUntil(t, out, &buf, "hi\r\n")
	io.WriteString(p, "stty size\n")
	readUntil(t, out, &buf, "24 80\r\n")
	if err := p.Resize(40, 120); err != nil {
		t.Fatal(err)
	}
	io.WriteString(p, "stty size\n")
	readUntil(t, out, &buf, "40 120\r\n")
	io.WriteString(p, "exit 7\n")
	res, err := p.Wait()
	if err != nil || res.ExitCode != 7 {
		t.Fatalf("exit: %+v %v", res, err)
	}
	// A process without a terminal has no Read.
	q, err := w.Start(context.Background(), sandbox.Cmd{Args: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	q.Wait()
	if _, err := q.Read(make([]byte, 1)); err == nil {
		t.Fatal("Read of a process without a terminal: want an error")
	}
}

// echoServer listens on a free loopback port, greets each client, echoes
// its first message and closes; it prints the port first.
const echoServer = `
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
print("port", s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    c.sendall(b"hello\n")
    c.sendall(c.recv(100))
    c.close()
`

func testDial(t *testing.T, w sandbox.Workspace) {
	out := NewLineWriter()
	p, err := w.Start(context.Background(), sandbox.Cmd{Args: []string{"python3", "-c", echoServer}, Stdout: out, Stderr: out})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	port := strings.TrimPrefix(WaitLine(t, out.C, "port "), "port ")
	for _, host := range []string{"127.0.0.1", "localhost"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		before := w.LastActivity()
		c, err := w.DialContext(ctx, "tcp", host+":"+port)
		cancel()
		if err != nil {
			t.Fatalf("DialContext %s: %v", host, err)
		}
		r := bufio.NewReader(c)
		if l, err := r.ReadString('\n'); err != nil || l != "hello\n" {
			t.Fatalf("greeting %q %v", l, err)
		}
		io.WriteString(c, "ping")
		if b, err := io.ReadAll(r); err != nil || string(b) != "ping" {
			t.Fatalf("echo %q %v", b, err)
		}
		c.Close()
		if !w.LastActivity().After(before) {
			t.Fatal("LastActivity did not advance with a dial")
		}
	}
	if _, err := w.DialContext(context.Background(), "tcp", "example.com:80"); err == nil {
		t.Fatal("DialContext with a host name: want an error")
	}
	p.Kill()
	if res, _ := p.Wait(); res.Reason != sandbox.ReasonKilled {
		t.Fatalf("kill: %+v", res)
	}
}
