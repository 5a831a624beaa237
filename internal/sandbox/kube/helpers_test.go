package kube

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"ecode/internal/sandbox"
)

const testNS = "ecode"

// dialer is the Connect test double: it records each call and checks that
// the pod was ready when it was called. The end-to-end test passes
// remote.Dial instead, with the pod IP 127.0.0.1 and AgentPort where a
// locally started agent listens (see markReady).
type dialer struct {
	t      *testing.T
	client *fake.Clientset
	mu     sync.Mutex
	calls  []dialCall
}

type dialCall struct{ id, addr, token string }

func (d *dialer) Connect(ctx context.Context, id, addr, token string) (sandbox.Workspace, error) {
	pod, err := d.client.CoreV1().Pods(testNS).Get(ctx, PodName(id), metav1.GetOptions{})
	if err != nil {
		d.t.Errorf("Connect before the pod exists: %v", err)
	} else if ip, _, _ := podState(pod); ip == "" {
		d.t.Errorf("Connect before the pod is ready: %+v", pod.Status)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, dialCall{id, addr, token})
	return &fakeWS{id: id}, nil
}

func (d *dialer) Calls() []dialCall {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]dialCall(nil), d.calls...)
}

// fakeWS is the remote workspace double; only ID, KillAll, Close and
// Listen (tunnels) are used.
type fakeWS struct {
	sandbox.Workspace
	id      string
	mu      sync.Mutex
	closed  bool
	killAll int
}

func (w *fakeWS) ID() string { return w.id }

// Listen gives a tunnel a real (idle) loopback listener.
func (w *fakeWS) Listen(string) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	return ln
}
func (w *fakeWS) KillAll() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.killAll++
	return nil
}
func (w *fakeWS) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	return nil
}

// newTestRunner is a runner on a fake clientset whose access reviews all
// answer allowed unless deny says otherwise.
func newTestRunner(t *testing.T, edit func(*Options), deny func(authorizationv1.ResourceAttributes) bool, objects ...runtime.Object) (*Runner, *fake.Clientset, *dialer) {
	t.Helper()
	client := fake.NewClientset(objects...)
	client.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		review := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview).DeepCopy()
		review.Status.Allowed = deny == nil || !deny(*review.Spec.ResourceAttributes)
		return true, review, nil
	})
	d := &dialer{t: t, client: client}
	opts := Options{Client: client, Namespace: testNS, Image: "registry.example/ecode:1", Node: "node-a",
		DataClaim: "ecode-data", DataDir: "/data", Connect: d.Connect, StartTimeout: time.Minute}
	if edit != nil {
		edit(&opts)
	}
	r, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, client, d
}

// podWatch watches the namespace's pods; start it before the action.
func podWatch(t *testing.T, client *fake.Clientset) watch.Interface {
	t.Helper()
	w, err := client.CoreV1().Pods(testNS).Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return w
}

// created waits for workspace id's pod to be added (the watch also
// reports pods that existed before it).
func created(t *testing.T, w watch.Interface, id string) *corev1.Pod {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev := <-w.ResultChan():
			if pod, ok := ev.Object.(*corev1.Pod); ok && ev.Type == watch.Added && pod.Name == PodName(id) && pod.UID != leftoverUID {
				return pod
			}
		case <-timeout:
			t.Fatal("no pod was created")
		}
	}
}

// setStatus replaces the pod's status, as the kubelet would.
func setStatus(t *testing.T, client *fake.Clientset, name string, status corev1.PodStatus) {
	t.Helper()
	pod, err := client.CoreV1().Pods(testNS).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status = status
	if _, err := client.CoreV1().Pods(testNS).UpdateStatus(context.Background(), pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// markReady makes the pod Running and Ready at ip (127.0.0.1 in the
// end-to-end test, where the agent listens locally).
func markReady(t *testing.T, client *fake.Clientset, name, ip string) {
	t.Helper()
	setStatus(t, client, name, corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}})
}

type result struct {
	ws  sandbox.Workspace
	err error
}

// open calls Workspace in a goroutine; its result arrives on the channel.
func open(r *Runner, id string, spec sandbox.Spec) <-chan result {
	ch := make(chan result, 1)
	go func() {
		ws, err := r.Workspace(context.Background(), id, spec)
		ch <- result{ws, err}
	}()
	return ch
}

func wait(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case res := <-ch:
		return res
	case <-time.After(30 * time.Second):
		t.Fatal("Workspace did not return")
		return result{}
	}
}

func exists(t *testing.T, client *fake.Clientset, name string) (pod, secret bool) {
	t.Helper()
	_, perr := client.CoreV1().Pods(testNS).Get(context.Background(), name, metav1.GetOptions{})
	_, serr := client.CoreV1().Secrets(testNS).Get(context.Background(), name, metav1.GetOptions{})
	return perr == nil, serr == nil
}
