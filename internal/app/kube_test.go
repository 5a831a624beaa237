package app

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"

	"ecode/internal/config"
	"ecode/internal/sandbox"
)

// --sandbox=kubernetes builds the pod runner from the configuration, and
// refuses to start while this build has no remote workspace client.
func TestKubeSandbox(t *testing.T) {
	cfg, err := config.Load("test", []string{"--sandbox", "kubernetes", "--kube-image", "e:1", "--data-dir", t.TempDir(),
		"--kube-egress", "10.0.0.0/8", "--kube-pod-name", "ecode-0", "--kube-pod-uid", "u1"}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if kubeConnect() == nil {
		if _, err := newSandbox(cfg, nil, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "needs the remote workspace client") {
			t.Errorf("newSandbox without a remote client: %v", err)
		}
	}
	connect := func(context.Context, string, string, string) (sandbox.Workspace, error) { return nil, nil }
	r, err := newKubeRunner(cfg, fake.NewClientset(), connect, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	np, err := r.Policy()
	if err != nil || np.Namespace != "ecode" || np.Spec.Egress[1].To[0].IPBlock.CIDR != "10.0.0.0/8" {
		t.Errorf("policy %+v, %v", np, err)
	}
}
