package app

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"ecode/internal/config"
	"ecode/internal/sandbox"
	"ecode/internal/sandbox/kube"
	"ecode/internal/sandbox/remote"
)

// kubeConnect is how this node reaches the agent in a workspace pod
// (`ecode sandbox-agent`) over its one authenticated connection.
func kubeConnect(ctx context.Context, id, addr, token string) (sandbox.Workspace, error) {
	ws, err := remote.Dial(ctx, id, addr, token)
	if err != nil {
		return nil, err // not a nil *remote.Workspace inside the interface
	}
	return ws, nil
}

// newKubeSandbox is the Kubernetes runner (--sandbox=kubernetes): the API
// client from --kube-kubeconfig or the pod's service account.
func newKubeSandbox(cfg *config.Config, tunnels []kube.Tunnel, log *slog.Logger) (sandbox.Runner, error) {
	var rc *rest.Config
	var err error
	if cfg.KubeKubeconfig != "" {
		rc, err = clientcmd.BuildConfigFromFlags("", cfg.KubeKubeconfig)
	} else {
		rc, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("sandbox=kubernetes: API client configuration: %w", err)
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("sandbox=kubernetes: %w", err)
	}
	return newKubeRunner(cfg, client, kubeConnect, tunnels, log)
}

// newKubeRunner maps the configuration onto kube.Options; tunnels are the
// egress and database proxies workspace pods reach through their agent.
func newKubeRunner(cfg *config.Config, client kubernetes.Interface, connect func(context.Context, string, string, string) (sandbox.Workspace, error),
	tunnels []kube.Tunnel, log *slog.Logger) (*kube.Runner, error) {
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	egress, err := cfg.KubeEgressCIDRs()
	if err != nil {
		return nil, err
	}
	opts := kube.Options{Client: client, Namespace: cfg.KubeNamespace, Image: cfg.KubeImage, Node: cfg.NodeName(),
		ServiceAccount: cfg.KubeServiceAccount, RuntimeClass: cfg.KubeRuntimeClass,
		DataClaim: cfg.KubeDataClaim, DataDir: dataDir, Chown: true, EgressCIDRs: egress, Connect: connect, Tunnels: tunnels,
		Log: log.With("component", "kube")}
	if cfg.KubePodName != "" {
		opts.Owner = &metav1.OwnerReference{APIVersion: "v1", Kind: "Pod", Name: cfg.KubePodName, UID: types.UID(cfg.KubePodUID)}
	}
	return kube.New(opts)
}
