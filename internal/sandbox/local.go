//go:build linux

package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// LocalRunner runs each workspace in its own bubblewrap sandbox. It must
// run as root (uid switch, cgroups, mounts).
type LocalRunner struct {
	opts    Options
	bwrap   string
	initBin string

	mu       sync.Mutex
	ws       map[string]*localWorkspace
	cg       *cgroupRoot
	prepared bool
	closed   bool
}

// NewLocal returns a local runner; call Check to know whether it works here.
func NewLocal(opts Options) *LocalRunner {
	if opts.StateDir == "" {
		opts.StateDir = "/run/ecode-sandbox"
	}
	if opts.CgroupPrefix == "" {
		opts.CgroupPrefix = "ecode-sandbox"
	}
	return &LocalRunner{opts: opts, ws: map[string]*localWorkspace{}, initBin: filepath.Join(opts.StateDir, "bin", "init")}
}

// Check reports why code cannot run in bubblewrap sandboxes here, or nil.
func (r *LocalRunner) Check() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.prepareLocked(); err != nil {
		return err
	}
	cmd := exec.Command(r.bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
		"--cap-drop", "ALL", "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
		"--symlink", "usr/bin", "/bin", "--", "/usr/bin/true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("sandbox: bwrap cannot create a sandbox as an unprivileged user: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// prepareLocked finds bwrap and cgroups and bind-mounts the server binary
// (the supervisor) into the state dir.
func (r *LocalRunner) prepareLocked() error {
	if r.closed {
		return ErrClosed
	}
	if r.prepared {
		return nil
	}
	if os.Geteuid() != 0 {
		return errors.New("sandbox: the local runner must run as root")
	}
	bw := r.opts.BwrapPath
	if bw == "" {
		bw = "bwrap"
	}
	p, err := exec.LookPath(bw)
	if err != nil {
		return fmt.Errorf("sandbox: bubblewrap not found (apt-get install bubblewrap): %w", err)
	}
	r.bwrap = p
	if r.cg, err = detectCgroups(r.opts.CgroupPrefix); err != nil {
		return err
	}
	for _, d := range []string{r.opts.StateDir, filepath.Join(r.opts.StateDir, "ws"), filepath.Dir(r.initBin)} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return err
		}
		if err := os.Chmod(d, 0o711); err != nil {
			return err
		}
	}
	if err := traversable(r.opts.StateDir); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	unmountAll(r.initBin)
	if f, err := os.OpenFile(r.initBin, os.O_CREATE|os.O_WRONLY, 0o755); err == nil {
		f.Close()
	}
	if err := bindMount(exe, r.initBin, true); err != nil {
		return err
	}
	r.prepared = true
	return nil
}

// traversable checks that unprivileged uids may pass through dir's ancestors.
func traversable(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("sandbox: state dir %s: %s is not searchable by other users (chmod o+x)", dir, d)
		}
		if d == "/" {
			return nil
		}
	}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// Workspace opens workspace id (or returns it when already open).
func (r *LocalRunner) Workspace(ctx context.Context, id string, spec Spec) (Workspace, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.prepareLocked(); err != nil {
		return nil, err
	}
	if w, ok := r.ws[id]; ok {
		return w, nil
	}
	if spec.UID <= 0 || spec.UID == os.Getuid() {
		return nil, fmt.Errorf("sandbox: workspace %q needs a dedicated unprivileged uid, got %d", id, spec.UID)
	}
	if !filepath.IsAbs(spec.Dir) {
		return nil, fmt.Errorf("sandbox: workspace dir %q is not absolute", spec.Dir)
	}
	if fi, err := os.Stat(spec.Dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("sandbox: workspace dir %q: not a directory (%v)", spec.Dir, err)
	}
	name := unsafeName.ReplaceAllString(id, "_")
	if name == "" || name == "." || name == ".." {
		return nil, fmt.Errorf("sandbox: bad workspace id %q", id)
	}
	w := &localWorkspace{r: r, id: id, spec: spec, dir: filepath.Join(r.opts.StateDir, "ws", name)}
	w.mnt = filepath.Join(w.dir, "w")
	w.touch()
	if err := w.setup(name); err != nil {
		w.teardown()
		return nil, err
	}
	r.ws[id] = w
	return w, nil
}

// Cleanup removes what a previous server run left behind.
func (r *LocalRunner) Cleanup(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.prepareLocked(); err != nil {
		return err
	}
	if len(r.ws) > 0 {
		return errors.New("sandbox: Cleanup must run before any workspace is opened")
	}
	var errs []error
	ents, _ := os.ReadDir(filepath.Join(r.opts.StateDir, "ws"))
	for _, e := range ents {
		w := &localWorkspace{r: r, dir: filepath.Join(r.opts.StateDir, "ws", e.Name())}
		w.mnt = filepath.Join(w.dir, "w")
		errs = append(errs, w.teardown())
	}
	errs = append(errs, r.cg.cleanup())
	return errors.Join(errs...)
}

// Close closes every open workspace.
func (r *LocalRunner) Close() error {
	r.mu.Lock()
	ws := make([]*localWorkspace, 0, len(r.ws))
	for _, w := range r.ws {
		ws = append(ws, w)
	}
	r.mu.Unlock()
	var errs []error
	for _, w := range ws {
		errs = append(errs, w.Close())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.prepared {
		errs = append(errs, unmountAll(r.initBin))
	}
	if r.cg != nil {
		// The prefix groups are empty now; rmdir fails harmlessly if not.
		for _, dir := range r.cg.parent {
			os.Remove(dir)
		}
	}
	r.closed = true
	return errors.Join(errs...)
}

// localWorkspace is one workspace of the local runner.
type localWorkspace struct {
	r    *LocalRunner
	id   string
	spec Spec
	dir  string // state dir of the workspace
	mnt  string // host bind mount of the project, bound to /workspace

	cg       *cgroup
	activity atomicTime

	mu     sync.Mutex
	sb     *sandboxProc
	closed bool
}

// state persisted for Cleanup after a crash.
type wsState struct {
	CgroupV2  bool              `json:"cgroup_v2"`
	Cgroups   map[string]string `json:"cgroups"`
	DiskMount string            `json:"disk_mount,omitempty"` // written by versions that mounted disk images
}

func (w *localWorkspace) saveState() error {
	st := wsState{}
	if w.cg != nil {
		st.CgroupV2, st.Cgroups = w.cg.v2, w.cg.dirs
	}
	b, _ := json.Marshal(st)
	return os.WriteFile(filepath.Join(w.dir, "state.json"), b, 0o600)
}

func (w *localWorkspace) setup(name string) error {
	uid := w.spec.UID
	if err := os.MkdirAll(w.mnt, 0o700); err != nil {
		return err
	}
	if err := os.Chown(w.dir, uid, uid); err != nil {
		return err
	}
	if err := os.Chmod(w.dir, 0o700); err != nil {
		return err
	}
	if err := w.saveState(); err != nil {
		return err
	}
	if err := chownTree(w.spec.Dir, uid); err != nil {
		return fmt.Errorf("sandbox: chown workspace: %w", err)
	}
	if err := bindMount(w.spec.Dir, w.mnt, false); err != nil {
		return err
	}
	if w.spec.Data != "" {
		if err := bindData(w.spec.Data, w.mnt, uid); err != nil {
			return err
		}
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/usr/sbin/nologin\necode:x:%d:%d:ecode:/workspace:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n", uid, uid)
	group := fmt.Sprintf("root:x:0:\necode:x:%d:\nnogroup:x:65534:\n", uid)
	if err := os.WriteFile(filepath.Join(w.dir, "passwd"), []byte(passwd), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(w.dir, "group"), []byte(group), 0o644); err != nil {
		return err
	}
	cg, err := w.r.cg.create(name, w.spec.Limits)
	if err != nil {
		return err
	}
	w.cg = cg
	return w.saveState()
}

// teardown releases cgroups and mounts recorded in the state dir.
func (w *localWorkspace) teardown() error {
	var st wsState
	if b, err := os.ReadFile(filepath.Join(w.dir, "state.json")); err == nil {
		json.Unmarshal(b, &st)
	}
	var errs []error
	if len(st.Cgroups) > 0 {
		c := &cgroup{v2: st.CgroupV2, dirs: st.Cgroups}
		if _, err := os.Stat(c.procDir()); err == nil {
			errs = append(errs, c.killAll(), c.remove())
		}
	}
	mounts := append(mountsUnder(w.dir), w.mnt)
	if st.DiskMount != "" {
		mounts = append(mounts, st.DiskMount)
	}
	if err := unmountAll(mounts...); err != nil {
		errs = append(errs, err)
	} else if err := os.RemoveAll(w.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (w *localWorkspace) ID() string { return w.id }

func (w *localWorkspace) touch() { w.activity.store(time.Now()) }

func (w *localWorkspace) LastActivity() time.Time { return w.activity.load() }

// sandbox returns the running sandbox, starting one if needed.
func (w *localWorkspace) sandbox(ctx context.Context) (*sandboxProc, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, ErrClosed
	}
	if w.sb != nil && w.sb.alive() {
		return w.sb, nil
	}
	if w.sb != nil {
		w.stopLocked()
	}
	sb, err := startSandbox(ctx, w)
	if err != nil {
		return nil, err
	}
	w.sb = sb
	return sb, nil
}

func (w *localWorkspace) baseEnv() []string {
	return []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/workspace", "USER=ecode", "LOGNAME=ecode", "SHELL=/bin/bash",
		"TERM=xterm-256color", "LANG=C.UTF-8", "TMPDIR=/tmp",
	}
}

func (w *localWorkspace) launch(ctx context.Context, req spawnRequest, stdio [3]*os.File) (handle, error) {
	sb, err := w.sandbox(ctx)
	if err != nil {
		return nil, err
	}
	req.Env = mergeEnv(w.baseEnv(), w.spec.Env, req.Env)
	return sb.spawn(req, stdio)
}

func (w *localWorkspace) counters() counters {
	c := w.cg.counters()
	// The project's filesystem: the sandbox's own image, or a volume the
	// caller mounted over Spec.Dir, or the host's disk.
	c.diskFull = diskFull(w.mnt)
	return c
}

func (w *localWorkspace) Exec(ctx context.Context, cmd Cmd) (Result, error) {
	return execProcess(ctx, w, cmd, w.spec.Limits.WallTime)
}

func (w *localWorkspace) Start(ctx context.Context, cmd Cmd) (*Process, error) {
	return startProcess(ctx, w, cmd, false, 0, 0)
}

func (w *localWorkspace) StartPTY(ctx context.Context, cmd Cmd, rows, cols uint16) (*Process, error) {
	return startProcess(ctx, w, cmd, true, rows, cols)
}

func (w *localWorkspace) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	w.mu.Lock()
	sb := w.sb
	w.mu.Unlock()
	if sb == nil || !sb.alive() {
		return nil, fmt.Errorf("sandbox: dial %s: workspace %s has no running processes", addr, w.id)
	}
	w.touch()
	return dialInNetns(ctx, sb.netns, network, addr)
}

// KillAll kills every process of the workspace.
func (w *localWorkspace) KillAll() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stopLocked()
}

func (w *localWorkspace) stopLocked() error {
	var err error
	if w.sb != nil {
		w.sb.kill()
		err = w.cg.killAll()
		select {
		case <-w.sb.exited:
		case <-time.After(5 * time.Second):
			w.sb.killOuter()
			err = errors.Join(err, errors.New("sandbox: bwrap did not exit"))
		}
		w.sb.close()
		w.sb = nil
	} else if w.cg != nil {
		err = w.cg.killAll()
	}
	return err
}

func (w *localWorkspace) Usage() (Usage, error) {
	u := w.cg.usage()
	u.DiskUsedBytes, u.DiskTotalBytes = diskUsage(w.mnt)
	return u, nil
}

// Close kills everything and removes the cgroups and mounts.
func (w *localWorkspace) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	err := w.stopLocked()
	w.mu.Unlock()
	err = errors.Join(err, w.teardown())
	w.r.mu.Lock()
	if w.r.ws[w.id] == w {
		delete(w.r.ws, w.id)
	}
	w.r.mu.Unlock()
	return err
}
