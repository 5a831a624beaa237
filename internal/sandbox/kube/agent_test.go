package kube

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"ecode/internal/sandbox"
	"ecode/internal/sandbox/remote"
	"ecode/internal/sandbox/sandboxtest"
)

// The end-to-end test: the runner on the fake clientset, and for each
// workspace a real agent process (this test binary re-executed as
// `ecode sandbox-agent` would run in the pod) reached through remote.Dial
// at the pod's IP. The shared runner suite runs against it.

// TestMain doubles as the agent: with ECODE_TEST_KUBE_AGENT=1 the binary
// listens on a loopback port, prints it, reads the pod's token (the one
// the runner put in the pod's Secret) from stdin, and serves.
func TestMain(m *testing.M) {
	if os.Getenv("ECODE_TEST_KUBE_AGENT") == "1" {
		os.Exit(runAgent())
	}
	os.Exit(m.Run())
}

func runAgent() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("listening %d\n", ln.Addr().(*net.TCPAddr).Port)
	in := bufio.NewReader(os.Stdin)
	token, err := in.ReadString('\n')
	if err != nil {
		return 1
	}
	ctx, stop := context.WithCancel(context.Background())
	go func() { in.WriteTo(discard{}); stop() }() // the test went away
	err = remote.Serve(ctx, ln, remote.ServerOptions{Root: os.Getenv("ECODE_TEST_AGENT_ROOT"), Token: strings.TrimSpace(token)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// agent is one started agent process waiting for its token.
type agent struct {
	port  int
	token func(string) // hands it the token
}

func startAgent(t *testing.T) agent {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "ECODE_TEST_KUBE_AGENT=1", "ECODE_TEST_AGENT_ROOT="+t.TempDir())
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
		stdin.Close()
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	p, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	port, perr := strconv.Atoi(p)
	if err != nil || !ok || perr != nil {
		t.Fatalf("agent did not start: %q %v", line, err)
	}
	return agent{port: port, token: func(tok string) { fmt.Fprintln(stdin, tok) }}
}

// remoteDial is what the composition root passes as Options.Connect.
func remoteDial(ctx context.Context, id, addr, token string) (sandbox.Workspace, error) {
	ws, err := remote.Dial(ctx, id, addr, token)
	if err != nil {
		return nil, err
	}
	return ws, nil
}

// openThroughPod opens a workspace the way a node does on Kubernetes: the
// runner creates the pod and its token Secret; the test plays the kubelet
// (the agent starts with the Secret's token, the pod turns Ready at
// 127.0.0.1); the runner then connects with remote.Dial.
func openThroughPod(t *testing.T, _ sandbox.Limits) sandbox.Workspace {
	ag := startAgent(t)
	r, client, _ := newTestRunner(t, func(o *Options) {
		o.AgentPort = ag.port
		o.Connect = remoteDial
	}, nil)
	id := "suite-" + strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	w := podWatch(t, client)
	ch := open(r, id, sandbox.Spec{Dir: "/data/projects/p1"})
	pod := created(t, w, id)
	secret, err := client.CoreV1().Secrets(testNS).Get(context.Background(), pod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ag.token(string(secret.Data[tokenKey]))
	markReady(t, client, pod.Name, "127.0.0.1")
	res := wait(t, ch)
	if res.err != nil {
		t.Fatal(res.err)
	}
	t.Cleanup(func() { res.ws.Close() })
	return res.ws
}

// TestSuiteThroughPods runs the runner suite that the bubblewrap and the
// bare remote backends pass against workspaces opened by this runner.
func TestSuiteThroughPods(t *testing.T) {
	sandboxtest.Run(t, openThroughPod, sandboxtest.Caps{})
}

// A wrong token in the Secret (an agent started with another one) makes
// opening the workspace fail instead of talking to a stranger.
func TestAgentWithAnotherToken(t *testing.T) {
	ag := startAgent(t)
	r, client, _ := newTestRunner(t, func(o *Options) {
		o.AgentPort = ag.port
		o.Connect = remoteDial
	}, nil)
	w := podWatch(t, client)
	ch := open(r, "stranger", sandbox.Spec{Dir: "/data/projects/p1"})
	pod := created(t, w, "stranger")
	ag.token("not-the-pods-token")
	markReady(t, client, pod.Name, "127.0.0.1")
	if res := wait(t, ch); res.err == nil {
		res.ws.Close()
		t.Fatal("an agent holding another token was accepted")
	}
}
