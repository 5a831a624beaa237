package app

import (
	"log/slog"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"

	"ecode/internal/config"
)

// --sandbox=kubernetes builds the pod runner from the configuration.
func TestKubeSandbox(t *testing.T) {
	cfg, err := config.Load("test", []string{"--sandbox", "kubernetes", "--kube-image", "e:1", "--data-dir", t.TempDir(),
		"--kube-egress", "10.0.0.0/8", "--kube-pod-name", "ecode-0", "--kube-pod-uid", "u1"}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	// Outside a cluster (no service account) the in-cluster configuration
	// is missing, and the error says so.
	if _, err := newSandbox(cfg, nil, nil, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "API client configuration") {
		t.Errorf("newSandbox outside a cluster: %v", err)
	}
	r, err := newKubeRunner(cfg, fake.NewClientset(), kubeConnect, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	np, err := r.Policy()
	if err != nil || np.Namespace != "ecode" || np.Spec.Egress[1].To[0].IPBlock.CIDR != "10.0.0.0/8" {
		t.Errorf("policy %+v, %v", np, err)
	}
}
