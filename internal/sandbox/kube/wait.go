package kube

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

// fatalWaiting are container waiting reasons a pod does not recover from
// by itself soon enough for someone waiting on a workspace.
var fatalWaiting = map[string]bool{"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true,
	"CreateContainerConfigError": true, "CreateContainerError": true, "CrashLoopBackOff": true, "RunContainerError": true}

// podState says whether pod is ready (with its IP), failed for good
// (err), or neither yet (why: what it waits for, for the timeout error).
func podState(pod *corev1.Pod) (ip string, why string, err error) {
	switch pod.Status.Phase {
	case corev1.PodFailed, corev1.PodSucceeded:
		return "", "", fmt.Errorf("pod %s %s: %s", pod.Name, strings.ToLower(string(pod.Status.Phase)), podReason(pod))
	}
	if pod.DeletionTimestamp != nil {
		return "", "", fmt.Errorf("pod %s is being deleted", pod.Name)
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && fatalWaiting[w.Reason] {
			return "", "", fmt.Errorf("pod %s cannot start: %s: %s", pod.Name, w.Reason, w.Message)
		}
	}
	ready := false
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			ready = true
		}
	}
	if pod.Status.Phase == corev1.PodRunning && ready && pod.Status.PodIP != "" {
		return pod.Status.PodIP, "", nil
	}
	return "", podReason(pod), nil
}

// podReason is the most telling reason the pod gives for its state.
func podReason(pod *corev1.Pod) string {
	var parts []string
	add := func(reason, msg string) {
		if s := strings.TrimSpace(reason + " " + msg); s != "" {
			parts = append(parts, s)
		}
	}
	add(pod.Status.Reason, pod.Status.Message)
	for _, cs := range pod.Status.ContainerStatuses {
		if t := cs.State.Terminated; t != nil {
			add(t.Reason, fmt.Sprintf("(exit code %d) %s", t.ExitCode, t.Message))
		} else if w := cs.State.Waiting; w != nil {
			add(w.Reason, w.Message)
		}
	}
	for _, c := range pod.Status.Conditions {
		if c.Status != corev1.ConditionTrue && c.Reason != "" {
			add(c.Reason, c.Message)
		}
	}
	if len(parts) == 0 {
		return "phase " + string(pod.Status.Phase)
	}
	return strings.Join(parts, "; ")
}

// watchPod calls check with the pod's current state and with each change
// until check says done, ctx ends or the pod is gone (check(nil)). It
// starts the watch before reading the pod, so no change falls between, and
// starts it again when the API server ends it.
func (r *Runner) watchPod(ctx context.Context, name string, check func(*corev1.Pod) (done bool, err error)) error {
	pods := r.opts.Client.CoreV1().Pods(r.opts.Namespace)
	for {
		w, err := pods.Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()})
		if err != nil {
			return fmt.Errorf("watch pod %s: %w", name, err)
		}
		pod, err := pods.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			pod, err = nil, nil
		}
		if err == nil {
			var done bool
			done, err = check(pod)
			if done || err != nil {
				w.Stop()
				return err
			}
		}
		if err != nil {
			w.Stop()
			return fmt.Errorf("get pod %s: %w", name, err)
		}
		done, err := r.events(ctx, w, name, check)
		w.Stop()
		if done || err != nil {
			return err
		}
	}
}

// events feeds w's events for pod name to check; (false, nil) when w ended.
func (r *Runner) events(ctx context.Context, w watch.Interface, name string, check func(*corev1.Pod) (bool, error)) (bool, error) {
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok {
				return false, nil
			}
			pod, isPod := ev.Object.(*corev1.Pod)
			if !isPod || pod.Name != name { // the fake clientset ignores field selectors
				continue
			}
			if ev.Type == watch.Deleted {
				pod = nil
			}
			if done, err := check(pod); done || err != nil {
				return true, err
			}
		}
	}
}

// waitReady waits until pod name is Running and Ready with an IP, and
// returns the IP; an error names the pod's reason.
func (r *Runner) waitReady(ctx context.Context, name string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.StartTimeout)
	defer cancel()
	var ip, why string
	err := r.watchPod(ctx, name, func(pod *corev1.Pod) (bool, error) {
		if pod == nil {
			return true, fmt.Errorf("pod %s was deleted while starting", name)
		}
		var err error
		ip, why, err = podState(pod)
		return ip != "", err
	})
	if errors.Is(err, context.DeadlineExceeded) {
		return "", fmt.Errorf("pod %s not ready after %s: %s", name, r.opts.StartTimeout, why)
	}
	return ip, err
}

// waitGone waits until the pod with uid is deleted.
func (r *Runner) waitGone(ctx context.Context, name string, uid types.UID) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.StartTimeout)
	defer cancel()
	return r.watchPod(ctx, name, func(pod *corev1.Pod) (bool, error) { return pod == nil || pod.UID != uid, nil })
}
