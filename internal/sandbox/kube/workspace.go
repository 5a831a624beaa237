package kube

import (
	"sync"

	"ecode/internal/sandbox"
)

// workspace is the remote workspace of a pod; Close also deletes the pod.
type workspace struct {
	sandbox.Workspace // the agent connection: Exec, Start, StartPTY, DialContext, KillAll, Usage, ...
	r                 *Runner
	id, pod           string

	once sync.Once
	err  error
}

// Close closes the agent connection and deletes the pod and its Secret.
func (w *workspace) Close() error {
	w.once.Do(func() {
		w.err = w.Workspace.Close()
		w.r.forget(w.id, w)
		w.r.deletePod(w.pod)
	})
	return w.err
}
