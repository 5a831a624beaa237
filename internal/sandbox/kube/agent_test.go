package kube

import (
	"context"
	"net"
	"os"
	"strings"
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

// TestMain doubles as the agent: started by sandboxtest.StartAgent, the
// test binary serves a workspace as `ecode sandbox-agent` does in the pod.
func TestMain(m *testing.M) {
	sandboxtest.AgentMain(func(ctx context.Context, ln net.Listener, root, token string) error {
		var tunnels []string // as `ecode sandbox-agent --tunnel ADDR...` gets them from the pod spec
		if s := os.Getenv(agentTunnelsEnv); s != "" {
			tunnels = strings.Split(s, ",")
		}
		return remote.Serve(ctx, ln, remote.ServerOptions{Root: root, Token: token, Tunnels: tunnels, UID: sandboxtest.AgentUID()})
	})
	os.Exit(m.Run())
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
	return openPod(t, "suite-"+strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())), nil)
}

// agentTunnelsEnv passes the pod's --tunnel addresses to the agent process.
const agentTunnelsEnv = "ECODE_TEST_AGENT_TUNNELS"

// openPod opens a workspace through a pod whose agent tunnels the
// addresses of tunnels to this runner.
func openPod(t *testing.T, id string, tunnels []Tunnel) sandbox.Workspace {
	var addrs []string
	for _, tn := range tunnels {
		addrs = append(addrs, tn.Addr)
	}
	ag := sandboxtest.StartAgent(t, agentTunnelsEnv+"="+strings.Join(addrs, ","))
	r, client, _ := newTestRunner(t, func(o *Options) {
		o.AgentPort = ag.Port
		o.Connect = remoteDial
		o.Tunnels = tunnels
	}, nil)
	w := podWatch(t, client)
	ch := open(r, id, sandbox.Spec{Dir: "/data/projects/p1"})
	pod := created(t, w, id)
	secret, err := client.CoreV1().Secrets(testNS).Get(context.Background(), pod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ag.Token(string(secret.Data[tokenKey]))
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
	ag := sandboxtest.StartAgent(t)
	r, client, _ := newTestRunner(t, func(o *Options) {
		o.AgentPort = ag.Port
		o.Connect = remoteDial
	}, nil)
	w := podWatch(t, client)
	ch := open(r, "stranger", sandbox.Spec{Dir: "/data/projects/p1"})
	pod := created(t, w, "stranger")
	ag.Token("not-the-pods-token")
	markReady(t, client, pod.Name, "127.0.0.1")
	if res := wait(t, ch); res.err == nil {
		res.ws.Close()
		t.Fatal("an agent holding another token was accepted")
	}
}
