package sandbox

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// NoneRunner runs commands directly on the host, without any isolation and
// with only the wall-time limit. Use it only when the operator explicitly
// asks for it (--sandbox=none). Commands get a clean environment, run in
// Spec.Dir, and as Spec.UID when the server is root and UID > 0.
type NoneRunner struct {
	opts   NoneOptions
	mu     sync.Mutex
	ws     map[string]*noneWorkspace
	closed bool
}

// None returns the runner without isolation.
func None() *NoneRunner { return NoneWith(NoneOptions{}) }

// NoneOptions tune the runner without isolation.
type NoneOptions struct {
	// Start, when set, starts each command instead of cmd.Start (e.g. from
	// an OS thread with attributes the child should inherit).
	Start func(cmd *exec.Cmd) error
}

// NoneWith returns the runner without isolation, with options.
func NoneWith(o NoneOptions) *NoneRunner {
	return &NoneRunner{opts: o, ws: map[string]*noneWorkspace{}}
}

// Check always succeeds: there is nothing to check without isolation.
func (r *NoneRunner) Check() error { return nil }

// Cleanup has nothing to clean up.
func (r *NoneRunner) Cleanup(ctx context.Context) error { return nil }

// Workspace opens (or returns the open) workspace id.
func (r *NoneRunner) Workspace(ctx context.Context, id string, spec Spec) (Workspace, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	if w, ok := r.ws[id]; ok {
		return w, nil
	}
	if fi, err := os.Stat(spec.Dir); err != nil || !fi.IsDir() {
		return nil, errors.New("sandbox: workspace dir is not a directory")
	}
	w := &noneWorkspace{r: r, id: id, spec: spec, procs: map[*noneHandle]bool{}}
	w.touch()
	r.ws[id] = w
	return w, nil
}

// Close kills the processes of every workspace.
func (r *NoneRunner) Close() error {
	r.mu.Lock()
	ws := make([]*noneWorkspace, 0, len(r.ws))
	for _, w := range r.ws {
		ws = append(ws, w)
	}
	r.closed = true
	r.mu.Unlock()
	for _, w := range ws {
		w.Close()
	}
	return nil
}

type noneWorkspace struct {
	r        *NoneRunner
	id       string
	spec     Spec
	activity atomicTime

	mu     sync.Mutex
	procs  map[*noneHandle]bool
	closed bool
}

type noneHandle struct {
	cmd *exec.Cmd
}

func (h *noneHandle) pid() int { return h.cmd.Process.Pid }

func (h *noneHandle) wait() (waitStatus, error) {
	// Wait for the exit without reaping, so that the pid (= session id)
	// cannot be reused while the session's leftovers are killed.
	if waitExitNoReap(h.pid()) {
		killSession(h.pid())
		h.cmd.Wait()
	} else {
		h.cmd.Wait()
		killSession(h.pid())
	}
	var st waitStatus
	if ws, ok := h.cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		if ws.Signaled() {
			st.Signal = int(ws.Signal())
		} else {
			st.Exit = ws.ExitStatus()
		}
	}
	return st, nil
}

func (h *noneHandle) signal(sig syscall.Signal) error {
	if sig == syscall.SIGKILL {
		killSession(h.pid())
		return nil
	}
	return syscall.Kill(-h.pid(), sig)
}

func (w *noneWorkspace) ID() string              { return w.id }
func (w *noneWorkspace) touch()                  { w.activity.store(time.Now()) }
func (w *noneWorkspace) LastActivity() time.Time { return w.activity.load() }
func (w *noneWorkspace) counters() counters      { return counters{} }

func (w *noneWorkspace) launch(ctx context.Context, req spawnRequest, stdio [3]*os.File) (handle, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, ErrClosed
	}
	env := mergeEnv([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + w.spec.Dir, "TERM=xterm-256color", "LANG=C.UTF-8"}, w.spec.Env, req.Env)
	path, err := lookPath(req.Args[0], env)
	if err != nil {
		return nil, err
	}
	dir := w.spec.Dir
	if req.Dir != "" {
		dir = filepath.Join(dir, req.Dir)
	}
	cmd := &exec.Cmd{Path: path, Args: req.Args, Env: env, Dir: dir, Stdin: stdio[0], Stdout: stdio[1], Stderr: stdio[2]}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: req.PTY}
	if w.spec.UID > 0 && os.Geteuid() == 0 {
		u := uint32(w.spec.UID)
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: u, Gid: u, Groups: []uint32{}}
	}
	start := cmd.Start
	if w.r.opts.Start != nil {
		start = func() error { return w.r.opts.Start(cmd) }
	}
	if err := start(); err != nil {
		return nil, err
	}
	h := &noneHandle{cmd: cmd}
	w.procs[h] = true
	return &trackedHandle{noneHandle: h, w: w}, nil
}

// trackedHandle forgets the process when it has been waited for.
type trackedHandle struct {
	*noneHandle
	w *noneWorkspace
}

func (t *trackedHandle) wait() (waitStatus, error) {
	st, err := t.noneHandle.wait()
	t.w.mu.Lock()
	delete(t.w.procs, t.noneHandle)
	t.w.mu.Unlock()
	return st, err
}

func (w *noneWorkspace) Exec(ctx context.Context, cmd Cmd) (Result, error) {
	return execProcess(ctx, w, cmd, w.spec.Limits.WallTime)
}

func (w *noneWorkspace) Start(ctx context.Context, cmd Cmd) (*Process, error) {
	return startProcess(ctx, w, cmd, false, 0, 0)
}

func (w *noneWorkspace) StartPTY(ctx context.Context, cmd Cmd, rows, cols uint16) (*Process, error) {
	return startProcess(ctx, w, cmd, true, rows, cols)
}

func (w *noneWorkspace) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	w.touch()
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func (w *noneWorkspace) KillAll() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for h := range w.procs {
		h.signal(syscall.SIGKILL)
	}
	return nil
}

func (w *noneWorkspace) Usage() (Usage, error) { return Usage{}, nil }

func (w *noneWorkspace) Close() error {
	w.KillAll()
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.r.mu.Lock()
	if w.r.ws[w.id] == w {
		delete(w.r.ws, w.id)
	}
	w.r.mu.Unlock()
	return nil
}
