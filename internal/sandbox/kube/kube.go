package kube

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"ecode/internal/sandbox"
)

// DefaultAgentPort is the port the in-pod agent listens on.
const DefaultAgentPort = 7070

// Options configure the Kubernetes runner.
type Options struct {
	Client    kubernetes.Interface // required
	Namespace string               // where workspace pods, their Secrets and the NetworkPolicy live (required)
	Image     string               // the ecode image; `ecode` must be on its PATH (required)
	Node      string               // this node's id, the ecode.dev/node label (required)

	// ServiceAccount of workspace pods; empty: the namespace's default.
	// Its token is never mounted either way.
	ServiceAccount string
	// RuntimeClass, e.g. "gvisor"; empty: the cluster's default runtime.
	RuntimeClass string

	// DataClaim is the shared ReadWriteMany PersistentVolumeClaim holding
	// the data directory, which the server mounts at DataDir (required).
	DataClaim string
	DataDir   string

	// Chown gives the project folder (Spec.Dir, and Spec.Data) to the
	// workspace's uid before its pod starts, as the local runner does; the
	// server sees the claim at DataDir and needs CAP_CHOWN for it.
	Chown bool

	AgentPort int // default DefaultAgentPort
	// UID workspace processes run as when Spec.UID is 0 (default 10000).
	UID int
	// Overcommit divides the limits to give the requests: 1 (default)
	// requests what the plan allows (Guaranteed QoS); 4 packs four times
	// as many workspaces on a node.
	Overcommit float64

	// ServerLabels select the E-Code server pods, the only ones allowed to
	// reach the agent (default app.kubernetes.io/name=ecode,
	// app.kubernetes.io/component=server) in ServerNamespace (default
	// Namespace).
	ServerLabels    map[string]string
	ServerNamespace string
	// EgressCIDRs and EgressPeers are what workspace pods may reach
	// besides the cluster DNS (egress proxy, registry mirrors).
	EgressCIDRs []string
	EgressPeers []networkingv1.NetworkPolicyPeer

	// Owner, when set, is the server's own pod: workspace pods and Secrets
	// name it as owner, so deleting the server pod deletes them.
	Owner *metav1.OwnerReference

	// Tunnels are the node's services offered inside each pod (egress
	// proxy, database proxy): the agent listens on each Addr in the pod and
	// forwards the connections to this node, where Attach serves them.
	Tunnels []Tunnel

	// Connect reaches the agent at addr (podIP:port) with token (required).
	// With Tunnels, the workspace it returns must implement
	// Listen(addr string) net.Listener (remote.Workspace does).
	Connect func(ctx context.Context, id, addr, token string) (sandbox.Workspace, error)

	StartTimeout time.Duration // how long a pod may take to be ready; default 5 minutes
	Rand         io.Reader     // token randomness; default crypto/rand
	Log          *slog.Logger  // default: discard
}

// Tunnel is one service of the node that processes in a workspace pod
// reach at Addr inside the pod (e.g. 127.0.0.1:3128).
type Tunnel struct {
	Addr string
	// Attach takes over the listener of workspace id's tunnelled
	// connections and serves them in the background until it is closed
	// (sandbox.Listeners.Attach).
	Attach func(workspaceID string, l net.Listener)
}

// tunnelListener is what a connected workspace offers for Tunnels.
type tunnelListener interface {
	Listen(addr string) net.Listener
}

// Runner runs workspaces as pods. Create it with New.
type Runner struct {
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	open     map[string]*entry // by workspace id
	policyOK bool              // the NetworkPolicy was applied
	closed   bool
}

// entry is an open or opening workspace; done is closed when ws or err is set.
type entry struct {
	done chan struct{}
	ws   *workspace
	err  error
}

var _ sandbox.Runner = (*Runner)(nil)

// New checks opts and returns a runner; it does not talk to the API yet.
func New(opts Options) (*Runner, error) {
	var missing []string
	for name, empty := range map[string]bool{"Client": opts.Client == nil, "Namespace": opts.Namespace == "", "Image": opts.Image == "",
		"Node": opts.Node == "", "DataClaim": opts.DataClaim == "", "DataDir": opts.DataDir == "", "Connect": opts.Connect == nil} {
		if empty {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("kube: missing options %v", missing)
	}
	if opts.AgentPort == 0 {
		opts.AgentPort = DefaultAgentPort
	}
	if opts.UID == 0 {
		opts.UID = 10000
	}
	if opts.Overcommit < 1 {
		opts.Overcommit = 1
	}
	if opts.ServerLabels == nil {
		opts.ServerLabels = map[string]string{"app.kubernetes.io/name": "ecode", "app.kubernetes.io/component": "server"}
	}
	if opts.ServerNamespace == "" {
		opts.ServerNamespace = opts.Namespace
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 5 * time.Minute
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{opts: opts, log: log, open: map[string]*entry{}}, nil
}

// Workspace returns the open workspace id, or starts its pod (adopting one
// this node already runs under that name), waits until it is ready and
// connects to its agent.
func (r *Runner) Workspace(ctx context.Context, id string, spec sandbox.Spec) (sandbox.Workspace, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, sandbox.ErrClosed
	}
	if e, ok := r.open[id]; ok {
		r.mu.Unlock()
		select {
		case <-e.done:
			if e.err != nil {
				return nil, e.err
			}
			return e.ws, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	e := &entry{done: make(chan struct{})}
	r.open[id] = e
	r.mu.Unlock()

	e.ws, e.err = r.start(ctx, id, spec)
	if e.err != nil {
		r.mu.Lock()
		delete(r.open, id)
		r.mu.Unlock()
	}
	close(e.done)
	if e.err != nil {
		return nil, e.err
	}
	return e.ws, nil
}

// start makes the pod ready and connects to it.
func (r *Runner) start(ctx context.Context, id string, spec sandbox.Spec) (*workspace, error) {
	if err := r.ensurePolicy(ctx); err != nil {
		return nil, err
	}
	name := PodName(id)
	token, err := r.ensurePod(ctx, id, spec)
	if err != nil {
		return nil, err
	}
	ip, err := r.waitReady(ctx, name)
	if err != nil {
		r.deletePod(name)
		return nil, fmt.Errorf("kube: workspace %s: %w", id, err)
	}
	addr := fmt.Sprintf("%s:%d", ip, r.opts.AgentPort)
	remote, err := r.opts.Connect(ctx, id, addr, token)
	if err != nil {
		r.deletePod(name)
		return nil, fmt.Errorf("kube: connect to the agent of workspace %s at %s: %w", id, addr, err)
	}
	if len(r.opts.Tunnels) > 0 {
		tl, ok := remote.(tunnelListener)
		if !ok {
			remote.Close()
			r.deletePod(name)
			return nil, fmt.Errorf("kube: workspace %s: the agent connection offers no tunnels", id)
		}
		for _, t := range r.opts.Tunnels {
			t.Attach(id, tl.Listen(t.Addr))
		}
	}
	r.log.Info("workspace pod ready", "workspace", id, "pod", name, "addr", addr)
	return &workspace{Workspace: remote, r: r, id: id, pod: name}, nil
}

// forget drops id from the open workspaces if it is still w.
func (r *Runner) forget(id string, w *workspace) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.open[id]; ok && e.ws == w {
		delete(r.open, id)
	}
}

// deletePod deletes a pod and its Secret, logging failures (a leftover is
// removed by the next Cleanup).
func (r *Runner) deletePod(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.deleteObjects(ctx, name); err != nil {
		r.log.Warn("delete workspace pod", "pod", name, "err", err)
	}
}

func (r *Runner) deleteObjects(ctx context.Context, name string) error {
	zero := int64(0)
	del := metav1.DeleteOptions{GracePeriodSeconds: &zero}
	var errs []error
	if err := r.opts.Client.CoreV1().Pods(r.opts.Namespace).Delete(ctx, name, del); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, err)
	}
	if err := r.opts.Client.CoreV1().Secrets(r.opts.Namespace).Delete(ctx, name, del); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Cleanup deletes the workspace pods and Secrets labelled with this node
// that no open workspace owns: leftovers of a previous run of this node.
func (r *Runner) Cleanup(ctx context.Context) error {
	sel := metav1.ListOptions{LabelSelector: LabelComponent + "=" + componentWorkspace + "," + LabelNode + "=" + labelValue(r.opts.Node)}
	pods, err := r.opts.Client.CoreV1().Pods(r.opts.Namespace).List(ctx, sel)
	if err != nil {
		return fmt.Errorf("kube: list workspace pods: %w", err)
	}
	secrets, err := r.opts.Client.CoreV1().Secrets(r.opts.Namespace).List(ctx, sel)
	if err != nil {
		return fmt.Errorf("kube: list workspace secrets: %w", err)
	}
	names := map[string]bool{}
	for _, p := range pods.Items {
		names[p.Name] = true
	}
	for _, s := range secrets.Items {
		names[s.Name] = true
	}
	r.mu.Lock()
	for id := range r.open {
		delete(names, PodName(id))
	}
	r.mu.Unlock()
	var errs []error
	for name := range names {
		r.log.Info("delete leftover workspace pod", "pod", name)
		errs = append(errs, r.deleteObjects(ctx, name))
	}
	return errors.Join(errs...)
}

// Close closes every open workspace, deleting their pods.
func (r *Runner) Close() error {
	r.mu.Lock()
	r.closed = true
	var open []*entry
	for _, e := range r.open {
		open = append(open, e)
	}
	r.mu.Unlock()
	var errs []error
	for _, e := range open {
		<-e.done
		if e.ws != nil {
			errs = append(errs, e.ws.Close())
		}
	}
	return errors.Join(errs...)
}
