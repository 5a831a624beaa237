package kube

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"ecode/internal/sandbox"
)

var testSpec = sandbox.Spec{Dir: "/data/projects/p1", UID: 20001, Env: []string{"PORT=3000"},
	Limits: sandbox.Limits{MemoryBytes: 512 << 20, CPU: 0.5, MaxProcs: 256, TmpBytes: 128 << 20, DiskBytes: 2 << 30}}

// Workspace blocks until the pod is Running and Ready with an IP, then
// connects to podIP:AgentPort with the token of the pod's Secret; a second
// call returns the same workspace; Close deletes the pod and the Secret.
func TestWorkspaceLifecycle(t *testing.T) {
	r, client, d := newTestRunner(t, nil, nil)
	w := podWatch(t, client)
	ch := open(r, "p1", testSpec)
	pod := created(t, w, "p1")
	if pod.Name != PodName("p1") {
		t.Fatalf("pod name %q, want %q", pod.Name, PodName("p1"))
	}
	setStatus(t, client, pod.Name, corev1.PodStatus{Phase: corev1.PodPending})
	setStatus(t, client, pod.Name, corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.1.2.3"}) // running, not ready yet
	select {
	case res := <-ch:
		t.Fatalf("Workspace returned before the pod was ready: %v", res.err)
	default:
	}
	markReady(t, client, pod.Name, "127.0.0.1")
	res := wait(t, ch)
	if res.err != nil {
		t.Fatal(res.err)
	}
	secret, err := client.CoreV1().Secrets(testNS).Get(context.Background(), pod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	calls := d.Calls()
	if len(calls) != 1 || calls[0].addr != "127.0.0.1:7070" || calls[0].id != "p1" ||
		calls[0].token != string(secret.Data["token"]) || len(calls[0].token) < 40 {
		t.Fatalf("Connect calls = %+v, secret token %q", calls, secret.Data["token"])
	}
	if res.ws.ID() != "p1" {
		t.Errorf("ID() = %q", res.ws.ID())
	}

	again, err := r.Workspace(context.Background(), "p1", testSpec)
	if err != nil || again != res.ws || len(d.Calls()) != 1 {
		t.Fatalf("second Workspace: %v, same=%v, connects=%d", err, again == res.ws, len(d.Calls()))
	}
	if err := res.ws.KillAll(); err != nil {
		t.Fatal(err)
	}
	remote := res.ws.(*workspace).Workspace.(*fakeWS)
	if remote.killAll != 1 {
		t.Error("KillAll was not delegated to the agent connection")
	}

	if err := res.ws.Close(); err != nil {
		t.Fatal(err)
	}
	if !remote.closed {
		t.Error("Close did not close the agent connection")
	}
	if p, s := exists(t, client, pod.Name); p || s {
		t.Fatalf("after Close: pod exists %v, secret exists %v", p, s)
	}
	// The next Workspace starts a new pod.
	ch = open(r, "p1", testSpec)
	markReady(t, client, created(t, w, "p1").Name, "127.0.0.1")
	if res := wait(t, ch); res.err != nil || res.ws == again {
		t.Fatalf("reopen: %v, same as closed: %v", res.err, res.ws == again)
	}
}

// Concurrent calls for one id wait for the one pod.
func TestWorkspaceConcurrentCallsShareThePod(t *testing.T) {
	r, client, d := newTestRunner(t, nil, nil)
	w := podWatch(t, client)
	first := open(r, "p1", testSpec)
	pod := created(t, w, "p1")
	second := open(r, "p1", testSpec)
	markReady(t, client, pod.Name, "127.0.0.1")
	a, b := wait(t, first), wait(t, second)
	if a.err != nil || b.err != nil || a.ws != b.ws || len(d.Calls()) != 1 {
		t.Fatalf("errs %v %v, same %v, connects %d", a.err, b.err, a.ws == b.ws, len(d.Calls()))
	}
}

// A pod that fails, cannot pull its image or never gets ready gives an
// error with the pod's reason, and its pod and Secret are deleted.
func TestWorkspaceStartFailures(t *testing.T) {
	cases := []struct {
		name   string
		status corev1.PodStatus
		want   string
	}{
		{"failed", corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted", Message: "The node was low on resource: memory."}, "Evicted"},
		{"agent exited", corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{Name: "agent",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 2, Message: "bad flag"}}}}}, "exit code 2"},
		{"image pull", corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{Name: "agent",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "manifest unknown"}}}}}, "ErrImagePull: manifest unknown"},
		{"timeout", corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled,
			Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/3 nodes are available: 3 Insufficient memory."}}}, "not ready after 200ms: Unschedulable 0/3 nodes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			timeout := time.Minute
			if c.name == "timeout" {
				timeout = 200 * time.Millisecond
			}
			r, client, d := newTestRunner(t, func(o *Options) { o.StartTimeout = timeout }, nil)
			w := podWatch(t, client)
			ch := open(r, "p1", testSpec)
			pod := created(t, w, "p1")
			setStatus(t, client, pod.Name, c.status)
			res := wait(t, ch)
			if res.err == nil || !strings.Contains(res.err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", res.err, c.want)
			}
			if p, s := exists(t, client, pod.Name); p || s || len(d.Calls()) != 0 {
				t.Fatalf("after the failure: pod %v, secret %v, connects %d", p, s, len(d.Calls()))
			}
		})
	}
}

// A project folder outside the shared claim is refused before any pod.
func TestWorkspaceOutsideDataDir(t *testing.T) {
	r, client, _ := newTestRunner(t, nil, nil)
	for _, dir := range []string{"/elsewhere/p1", "/data", "/data/../etc"} {
		spec := testSpec
		spec.Dir = dir
		if _, err := r.Workspace(context.Background(), "p1", spec); err == nil || !strings.Contains(err.Error(), "data directory") {
			t.Errorf("Dir %s: err = %v", dir, err)
		}
	}
	if pods, _ := client.CoreV1().Pods(testNS).List(context.Background(), metav1.ListOptions{}); len(pods.Items) != 0 {
		t.Errorf("%d pods created", len(pods.Items))
	}
}
