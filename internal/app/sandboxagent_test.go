package app

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"ecode/internal/sandbox"
	"ecode/internal/sandbox/remote"
)

func TestSandboxAgentCommand(t *testing.T) {
	noEnv := func(string) string { return "" }
	err := Main(context.Background(), []string{"sandbox-agent", "--root", t.TempDir()}, noEnv, nil, &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), "ECODE_SANDBOX_TOKEN") {
		t.Fatalf("without a token: %v", err)
	}
	if err := Main(context.Background(), []string{"sandbox-agent", "--token", "x"}, noEnv, nil, &strings.Builder{}); err == nil {
		t.Fatal("a --token flag: want an error (the token is never a flag)")
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env := func(k string) string {
		if k == "ECODE_SANDBOX_TOKEN" {
			return "agent-test-token"
		}
		return ""
	}
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
		done <- Main(ctx, []string{"sandbox-agent", "--listen", "127.0.0.1:0", "--root", t.TempDir(), "--env", "GREETING=hi"}, env, nil, logW)
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
