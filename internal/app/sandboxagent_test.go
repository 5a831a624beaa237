package app

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ecode/internal/sandbox"
	"ecode/internal/sandbox/remote"
)

func TestSandboxAgentCommand(t *testing.T) {
	// The token in the environment (as pods had it) no longer counts.
	env := func(k string) string {
		if k == "ECODE_SANDBOX_TOKEN" {
			return "agent-test-token"
		}
		return ""
	}
	err := Main(context.Background(), []string{"sandbox-agent", "--root", t.TempDir()}, env, nil, &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), "--token-file is required") {
		t.Fatalf("without a token file: %v", err)
	}
	if err := Main(context.Background(), []string{"sandbox-agent", "--token", "x"}, env, nil, &strings.Builder{}); err == nil {
		t.Fatal("a --token flag: want an error (the token is never a flag)")
	}
	if err := Main(context.Background(), []string{"sandbox-agent", "--run-as", "-1"}, env, nil, &strings.Builder{}); err == nil || !strings.Contains(err.Error(), "--run-as") {
		t.Fatalf("--run-as -1: %v", err)
	}
	dir := t.TempDir()
	empty, tokenFile := filepath.Join(dir, "empty"), filepath.Join(dir, "token")
	if err := os.WriteFile(empty, nil, 0o400); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tokenFile, []byte("agent-test-token\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{empty, filepath.Join(dir, "missing")} {
		if err := Main(context.Background(), []string{"sandbox-agent", "--token-file", f}, env, nil, &strings.Builder{}); err == nil {
			t.Fatalf("token file %s: want an error", f)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tunnel := func() string { // a free loopback port for --tunnel
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}()
	// The agent logs the address it listens on once its listener is open:
	// read the log as it is written and take the address from that line.
	logR, logW := io.Pipe()
	var logs strings.Builder
	listening := make(chan string, 1)
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		sc := bufio.NewScanner(logR)
		for sc.Scan() {
			logs.WriteString(sc.Text() + "\n")
			if _, a, ok := strings.Cut(sc.Text(), "addr="); ok {
				select {
				case listening <- a:
				default: // only the first one counts; never block the agent's log
				}
			}
		}
	}()
	done := make(chan error, 1)
	go func() {
		done <- Main(ctx, []string{"sandbox-agent", "--listen", "127.0.0.1:0", "--root", t.TempDir(), "--env", "GREETING=hi",
			"--token-file", tokenFile, "--tunnel", tunnel}, env, nil, logW)
		logW.Close()
	}()
	var addr string
	select {
	case addr = <-listening:
	case err := <-done:
		t.Fatalf("agent exited: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the agent never logged its address")
	}
	w, err := remote.Dial(ctx, "cli", addr, "agent-test-token")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	res, err := w.Exec(ctx, sandbox.Cmd{Args: []string{"sh", "-c", "echo $GREETING"}})
	if err != nil || string(res.Stdout) != "hi\n" {
		t.Fatalf("exec through the agent: %+v %v", res, err)
	}
	// --tunnel: a connection to that address in the pod reaches the node.
	tl := w.Listen(tunnel)
	c, err := net.Dial("tcp", tunnel)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "ping")
	got, err := tl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(got, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("through the tunnel: %q %v", buf, err)
	}
	got.Close()
	if _, err := remote.Dial(ctx, "cli", addr, "wrong"); !errors.Is(err, remote.ErrAuth) {
		t.Fatalf("wrong token: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("agent: %v", err)
	}
	<-logged
	if strings.Contains(logs.String(), "agent-test-token") {
		t.Fatal("the token reached the log")
	}
}
