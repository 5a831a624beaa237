package app

import (
	"context"
	"errors"
	"net"
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

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env := func(k string) string {
		if k == "ECODE_SANDBOX_TOKEN" {
			return "agent-test-token"
		}
		return ""
	}
	var logs strings.Builder
	done := make(chan error, 1)
	go func() {
		done <- Main(ctx, []string{"sandbox-agent", "--listen", addr, "--root", t.TempDir(), "--env", "GREETING=hi"}, env, nil, &logs)
	}()
	// The agent's listener is opened inside Main, which offers no event
	// for it: dial until it answers, with a deadline.
	var w *remote.Workspace
	for deadline := time.Now().Add(10 * time.Second); ; {
		dctx, dcancel := context.WithTimeout(ctx, time.Second)
		w, err = remote.Dial(dctx, "cli", addr, "agent-test-token")
		dcancel()
		if err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("agent exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent never answered: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
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
	if strings.Contains(logs.String(), "agent-test-token") {
		t.Fatal("the token reached the log")
	}
}
