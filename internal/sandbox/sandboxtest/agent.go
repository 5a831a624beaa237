package sandboxtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// An agent process for the remote backends' tests: the test binary
// re-executed to serve one workspace, as `ecode sandbox-agent` does in a
// pod. It listens on a loopback port, prints it, reads the workspace token
// from its stdin (the test may learn it only later, e.g. from the pod's
// Secret) and serves until the test closes its stdin or it gets SIGTERM.

// Serve is the agent's serving function (remote.Serve with options).
type Serve func(ctx context.Context, ln net.Listener, root, token string) error

const agentEnv = "ECODE_TEST_AGENT"

// AgentUID is the uid StartAgentAs asked the agent process to run
// commands as (its ServerOptions.UID); 0 for StartAgent.
func AgentUID() int {
	uid, _ := strconv.Atoi(os.Getenv(agentEnv + "_UID"))
	return uid
}

// AgentMain makes the test binary an agent when StartAgent started it, and
// returns otherwise; call it first in TestMain.
func AgentMain(serve Serve) {
	if os.Getenv(agentEnv) != "1" {
		return
	}
	os.Exit(agentMain(serve))
}

func agentMain(serve Serve) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("listening %s\n", ln.Addr())
	in := bufio.NewReader(os.Stdin)
	token, err := in.ReadString('\n')
	if err != nil {
		return 1
	}
	ctx, stop := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt) // kept until exit
	go func() { <-sig; stop() }()
	go func() { io.Copy(io.Discard, in); stop() }() // the test went away
	if err := serve(ctx, ln, os.Getenv(agentEnv+"_ROOT"), strings.TrimSpace(token)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// Agent is a started agent process.
type Agent struct {
	Addr  string // host:port it listens on
	Port  int
	Pid   int         // the agent process
	Out   *LineWriter // the lines the agent writes to its stdout after "listening"
	stdin io.Writer
}

// Token hands the agent its workspace token; it serves from then on.
func (a *Agent) Token(token string) { fmt.Fprintln(a.stdin, token) }

// StartAgent starts this test binary as an agent process on a fresh root
// with env added to its environment; it is stopped in t.Cleanup.
func StartAgent(t *testing.T, env ...string) *Agent {
	t.Helper()
	return startAgent(t, t.TempDir(), env)
}

// StartAgentAs starts an agent process (see StartAgent) that runs every
// command as uid (AgentUID tells the agent's serving function); its root
// belongs to uid, in a directory every uid may enter. The test must run
// as root.
func StartAgentAs(t *testing.T, uid int, env ...string) *Agent {
	t.Helper()
	root, err := os.MkdirTemp("", "ecode-agent-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(root, uid, uid); err != nil {
		t.Fatal(err)
	}
	return startAgent(t, root, append(env, agentEnv+"_UID="+strconv.Itoa(uid)))
}

func startAgent(t *testing.T, root string, env []string) *Agent {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), agentEnv+"=1", agentEnv+"_ROOT="+root), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		t.Fatalf("agent did not start: %q %v", line, err)
	}
	lines := NewLineWriter()
	go io.Copy(lines, out) // until the agent exits
	tcp, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return &Agent{Addr: addr, Port: tcp.Port, Pid: cmd.Process.Pid, Out: lines, stdin: stdin}
}
