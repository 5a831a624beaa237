package kube

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// leftoverUID marks the pods tests make before the runner starts.
const leftoverUID = "old-uid"

// leftover is a workspace pod and Secret of node for id.
func leftover(id, node string, status corev1.PodStatus, token string) []runtime.Object {
	labels := map[string]string{LabelPartOf: "ecode", LabelComponent: "workspace", LabelWorkspace: id, LabelNode: node}
	meta := metav1.ObjectMeta{Name: PodName(id), Namespace: testNS, Labels: labels, UID: leftoverUID}
	return []runtime.Object{&corev1.Pod{ObjectMeta: meta, Status: status},
		&corev1.Secret{ObjectMeta: meta, Data: map[string][]byte{"token": []byte(token)}}}
}

// Cleanup deletes this node's leftover pods and Secrets, keeping open
// workspaces and other nodes' pods.
func TestCleanupRemovesThisNodesLeftovers(t *testing.T) {
	var objs []runtime.Object
	objs = append(objs, leftover("old", "node-a", corev1.PodStatus{Phase: corev1.PodRunning}, "t1")...)
	objs = append(objs, leftover("other", "node-b", corev1.PodStatus{Phase: corev1.PodRunning}, "t2")...)
	objs = append(objs, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "orphan", Namespace: testNS,
		Labels: map[string]string{LabelComponent: "workspace", LabelNode: "node-a"}}})
	objs = append(objs, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "unrelated", Namespace: testNS, Labels: map[string]string{LabelNode: "node-a"}}})
	r, client, _ := newTestRunner(t, nil, nil, objs...)

	w := podWatch(t, client)
	ch := open(r, "live", testSpec)
	markReady(t, client, created(t, w, "live").Name, "127.0.0.1")
	if res := wait(t, ch); res.err != nil {
		t.Fatal(res.err)
	}
	if err := r.Cleanup(context.Background()); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{PodName("old"): false, "orphan": false, PodName("other"): true, PodName("live"): true, "unrelated": true} {
		if p, s := exists(t, client, name); p != want && name != "orphan" || s != want && name != "unrelated" {
			t.Errorf("%s: pod %v secret %v, want kept=%v", name, p, s, want)
		}
	}
}

// A running pod of the workspace (another node's, which lost the project)
// is adopted with its token and relabelled; a failed one is replaced.
func TestWorkspaceAdoptsOrReplaces(t *testing.T) {
	ready := corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "127.0.0.1",
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
	objs := append(leftover("p1", "node-b", ready, "old-token"), leftover("p2", "node-b", corev1.PodStatus{Phase: corev1.PodFailed}, "t")...)
	r, client, d := newTestRunner(t, nil, nil, objs...)

	if _, err := r.Workspace(context.Background(), "p1", testSpec); err != nil {
		t.Fatal(err)
	}
	if calls := d.Calls(); len(calls) != 1 || calls[0].token != "old-token" {
		t.Fatalf("calls %+v", calls)
	}
	pod, _ := client.CoreV1().Pods(testNS).Get(context.Background(), PodName("p1"), metav1.GetOptions{})
	secret, _ := client.CoreV1().Secrets(testNS).Get(context.Background(), PodName("p1"), metav1.GetOptions{})
	if pod.Labels[LabelNode] != "node-a" || secret.Labels[LabelNode] != "node-a" || pod.UID != leftoverUID {
		t.Errorf("adopted pod labels %v, secret labels %v, uid %s", pod.Labels, secret.Labels, pod.UID)
	}

	w := podWatch(t, client)
	ch := open(r, "p2", testSpec)
	fresh := created(t, w, "p2")
	markReady(t, client, fresh.Name, "127.0.0.1")
	if res := wait(t, ch); res.err != nil {
		t.Fatal(res.err)
	}
	if calls := d.Calls(); len(calls) != 2 || calls[1].token == "t" || fresh.Labels[LabelNode] != "node-a" {
		t.Errorf("the failed pod was not replaced: calls %+v, labels %v", calls, fresh.Labels)
	}
}

// With Chown, the project folder is given to the workspace's uid before
// its pod is made.
func TestWorkspaceChownsTheProject(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI must run this test as root (chown to another uid)")
		}
		t.Skip("chown to another uid needs root")
	}
	data := t.TempDir()
	dir := filepath.Join(data, "projects", "p1")
	if err := os.MkdirAll(filepath.Join(dir, "src"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "src", "a.js"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r, client, _ := newTestRunner(t, func(o *Options) { o.DataDir, o.Chown = data, true }, nil)
	w := podWatch(t, client)
	spec := testSpec
	spec.Dir = dir
	ch := open(r, "p1", spec)
	markReady(t, client, created(t, w, "p1").Name, "127.0.0.1")
	if res := wait(t, ch); res.err != nil {
		t.Fatal(res.err)
	}
	for _, p := range []string{dir, filepath.Join(dir, "src", "a.js")} {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 20001 || st.Gid != 20001 {
			t.Errorf("%s owned by %d:%d", p, st.Uid, st.Gid)
		}
	}
}
