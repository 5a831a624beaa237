package app

import (
	"context"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"ecode/internal/billing"
	"ecode/internal/config"
	"ecode/internal/egress"
	"ecode/internal/sandbox"
	"ecode/internal/sandbox/remote"
	"ecode/internal/sandbox/sandboxtest"
	"ecode/internal/store"
)

// TestMain doubles as a workspace pod's agent (sandboxtest.StartAgent):
// the test binary serves a workspace as `ecode sandbox-agent` does.
func TestMain(m *testing.M) {
	sandboxtest.AgentMain(func(ctx context.Context, ln net.Listener, root, token string) error {
		var tunnels []string
		if s := os.Getenv(agentTunnelsEnv); s != "" {
			tunnels = strings.Split(s, ",")
		}
		return remote.Serve(ctx, ln, remote.ServerOptions{Root: root, Token: token, Tunnels: tunnels})
	})
	os.Exit(m.Run())
}

const agentTunnelsEnv = "ECODE_TEST_AGENT_TUNNELS"

// The composition root with --sandbox=kubernetes and --egress=proxy: a
// project's sandbox is a pod (on a fake clientset; a real agent process
// plays its container) whose processes get the egress proxy's environment
// and reach an allowed host through the agent's tunnel to this server's
// proxy, and not a host off the allowlist. The pod's ephemeral storage is
// the owner's plan's disk.
func TestKubeSandboxEgressThroughAgent(t *testing.T) {
	allowed := sandboxtest.ServeHTTPOn(t, "127.0.0.2", "from the allowed host")
	denied := sandboxtest.ServeHTTPOn(t, "127.0.0.3", "from the denied host")
	// The agent shares this machine's network, so its in-pod listener is
	// the egress proxy's real address.
	if ln, err := net.Listen("tcp", egress.Addr); err != nil {
		t.Fatalf("the in-pod egress address %s is taken on this machine: %v", egress.Addr, err)
	} else {
		ln.Close()
	}
	ag := sandboxtest.StartAgent(t, agentTunnelsEnv+"="+egress.Addr)

	client := fake.NewClientset()
	client.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		review := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview).DeepCopy()
		review.Status.Allowed = true
		return true, review, nil
	})
	pods, err := client.CoreV1().Pods("ecode").Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pods.Stop()
	var podCommand []string
	var podLimits corev1.ResourceList
	kubelet := make(chan error, 1)
	go func() { // the kubelet: start the agent with the Secret's token, then report the pod ready
		for ev := range pods.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok || ev.Type != watch.Added {
				continue
			}
			podCommand, podLimits = pod.Spec.Containers[0].Command, pod.Spec.Containers[0].Resources.Limits
			secret, err := client.CoreV1().Secrets("ecode").Get(context.Background(), pod.Name, metav1.GetOptions{})
			if err != nil {
				kubelet <- err
				return
			}
			ag.Token(string(secret.Data["token"]))
			pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "127.0.0.1",
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
			_, err = client.CoreV1().Pods("ecode").UpdateStatus(context.Background(), pod, metav1.UpdateOptions{})
			kubelet <- err
			return
		}
	}()

	dir := t.TempDir()
	cfg, err := config.Load("test", []string{"--addr", "127.0.0.1:0", "--data-dir", dir, "--project-disk", "0",
		"--sandbox", "kubernetes", "--kube-image", "e:1", "--egress", "proxy", "--egress-allow", "127.0.0.2"}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	st, err := openMigrated(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.DiscardHandler)
	srv, err := Build(context.Background(), cfg, Deps{Store: st, Log: log, Now: time.Now, Kube: client,
		KubeConnect: func(ctx context.Context, id, _, token string) (sandbox.Workspace, error) {
			return kubeConnect(ctx, id, ag.Addr, token) // the pod's IP and port are the agent process's
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := time.Now()
	if _, err := st.CreateUser(ctx, store.User{ID: "u1", Email: "u1@example.test", Name: "u1", PasswordHash: "h", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateProject(ctx, store.Project{ID: "p1", Name: "one", OwnerID: "u1", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Billing.PutPlan(ctx, billing.Plan{ID: "small", Name: "Small", ProjectDiskMiB: 256}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Billing.AssignPlan(ctx, "u1", "small"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Files.Create("p1"); err != nil {
		t.Fatal(err)
	}
	res, err := srv.Runner.Exec(ctx, "p1", `echo "$HTTP_PROXY"; curl -sS -w ' %{http_code}' http://`+allowed+`/`, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-kubelet; err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(podCommand, " "); !strings.Contains(got, "--tunnel "+egress.Addr) {
		t.Errorf("the pod's agent does not tunnel the egress proxy: %q", got)
	}
	if d := podLimits.StorageEphemeral(); d.Value() != 256<<20 {
		t.Errorf("the pod's ephemeral storage %v, want the plan's 256 MiB", d)
	}
	if want := "http://" + egress.Addr + "\nfrom the allowed host 200"; string(res.Stdout) != want {
		t.Fatalf("through the egress proxy: %q %q, want %q", res.Stdout, res.Stderr, want)
	}
	res, err = srv.Runner.Exec(ctx, "p1", `curl -sS -w ' %{http_code}' http://`+denied+`/`, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.Stdout); !strings.HasSuffix(got, " 403") || strings.Contains(got, "from the denied host") {
		t.Fatalf("a host off the allowlist: %q %q", res.Stdout, res.Stderr)
	}
}
