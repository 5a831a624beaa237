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
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// etcSubset is bound read-only into the sandbox's /etc when present.
var etcSubset = []string{
	"alternatives", "ssl", "ca-certificates", "ca-certificates.conf", "ld.so.cache", "ld.so.conf",
	"ld.so.conf.d", "localtime", "timezone", "nsswitch.conf", "hosts", "host.conf", "gai.conf",
	"protocols", "services", "mime.types", "bash.bashrc", "profile", "inputrc", "terminfo",
	"python3", "python3.11", "gitconfig",
}

// bwrapArgs is the hardened command line for one workspace sandbox. Fds:
// 3 seccomp program, 4 info, 5 block, 6 supervisor control socket (7 holds
// these arguments).
func bwrapArgs(w *localWorkspace, withSeccomp bool) []string {
	tmp := w.spec.Limits.TmpBytes
	if tmp <= 0 {
		tmp = 64 << 20
	}
	a := []string{
		"--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
		"--hostname", "sandbox", "--clearenv", "--cap-drop", "ALL",
		"--ro-bind", "/usr", "/usr",
	}
	for _, d := range []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"} {
		fi, err := os.Lstat(d)
		switch {
		case err != nil:
		case fi.Mode()&os.ModeSymlink != 0:
			if t, err := os.Readlink(d); err == nil {
				a = append(a, "--symlink", t, d)
			}
		case fi.IsDir():
			a = append(a, "--ro-bind", d, d)
		}
	}
	for _, e := range etcSubset {
		a = append(a, "--ro-bind-try", "/etc/"+e, "/etc/"+e)
	}
	a = append(a,
		"--ro-bind", w.dir+"/passwd", "/etc/passwd",
		"--ro-bind", w.dir+"/group", "/etc/group",
		"--proc", "/proc", "--dev", "/dev",
		"--size", strconv.FormatInt(tmp, 10), "--tmpfs", "/tmp",
		"--bind", w.mnt, "/workspace", "--chdir", "/workspace",
		"--ro-bind", w.r.initBin, supervisorPath,
	)
	a = append(a, w.r.opts.ExtraBwrapArgs...)
	a = append(a, "--remount-ro", "/")
	if withSeccomp {
		a = append(a, "--seccomp", "3")
	}
	return append(a, "--info-fd", "4", "--block-fd", "5")
}

// The bwrap processes are started from one OS thread that never exits:
// --die-with-parent (PR_SET_PDEATHSIG) fires when the parent *thread* ends.
type spawnJob struct {
	cmd  *exec.Cmd
	done chan error
}

var (
	spawnOnce sync.Once
	spawnCh   = make(chan spawnJob)
)

func startOnSpawner(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives forever
			for j := range spawnCh {
				j.done <- j.cmd.Start()
			}
		}()
	})
	done := make(chan error, 1)
	spawnCh <- spawnJob{cmd, done}
	return <-done
}

// sandboxProc is one running bwrap sandbox.
type sandboxProc struct {
	cmd      *exec.Cmd
	childPID int      // bwrap's pid 1 of the sandbox, host pid
	childFD  int      // pidfd of childPID (signals cannot hit a reused pid)
	netns    *os.File // the sandbox's network namespace
	ctrlMu   sync.Mutex
	ctrl     *net.UnixConn
	exited   chan struct{}
	stderr   *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  cappedBuffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b.buf)
}

func (s *sandboxProc) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// startSandbox starts bwrap as the workspace uid, moves its pid 1 into the
// workspace cgroups while bwrap waits on --block-fd, and waits for the
// supervisor to report ready.
func startSandbox(ctx context.Context, w *localWorkspace) (_ *sandboxProc, err error) {
	var closeLater []*os.File
	defer func() {
		for _, f := range closeLater {
			f.Close()
		}
	}()
	sec, err := seccompFile()
	if err != nil {
		return nil, err
	}
	if sec == nil {
		if sec, err = os.Open(os.DevNull); err != nil {
			return nil, err
		}
	}
	closeLater = append(closeLater, sec)
	infoR, infoW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	closeLater = append(closeLater, infoR, infoW)
	blockR, blockW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	closeLater = append(closeLater, blockR, blockW)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	ctrlRemote := os.NewFile(uintptr(fds[1]), "ctrl")
	closeLater = append(closeLater, ctrlRemote)
	ctrl, err := fileUnixConn(fds[0])
	if err != nil {
		return nil, err
	}
	s := &sandboxProc{ctrl: ctrl, exited: make(chan struct{}), stderr: &lockedBuffer{b: cappedBuffer{limit: 4096}}}
	defer func() {
		if err != nil {
			s.kill()
			s.close()
		}
	}()
	// The options go through --args (fd 7) so that the sandbox's
	// /proc/1/cmdline does not show host paths.
	argsFile, err := memFile("ecode-bwrap-args", []byte(strings.Join(bwrapArgs(w, auditArch != 0), "\x00")+"\x00"))
	if err != nil {
		return nil, err
	}
	closeLater = append(closeLater, argsFile)
	uid := uint32(w.spec.UID)
	s.cmd = exec.Command(w.r.bwrap, "--args", "7", "--", supervisorPath, supervisorArg, "6")
	s.cmd.Env = []string{"PATH=/usr/bin:/bin"}
	s.cmd.Stdout = s.stderr
	s.cmd.Stderr = s.stderr
	s.cmd.ExtraFiles = []*os.File{sec, infoW, blockR, ctrlRemote, argsFile}
	s.cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uid, Gid: uid, Groups: []uint32{}},
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL,
	}
	if err := startOnSpawner(s.cmd); err != nil {
		return nil, fmt.Errorf("sandbox: start bwrap: %w", err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	for _, f := range []*os.File{sec, infoW, blockR, ctrlRemote, argsFile} {
		f.Close()
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { s.kill() })
	defer stop()

	var info struct {
		ChildPID int `json:"child-pid"`
	}
	if err := json.NewDecoder(infoR).Decode(&info); err != nil || info.ChildPID <= 0 {
		<-s.exited
		return nil, fmt.Errorf("sandbox: bwrap failed: %s", s.stderr.String())
	}
	// The child is alive (it waits on --block-fd), so the pid is its own.
	if s.childFD, err = unix.PidfdOpen(info.ChildPID, 0); err != nil {
		return nil, fmt.Errorf("sandbox: pidfd_open: %w", err)
	}
	s.childPID = info.ChildPID
	if err := w.cg.add(s.childPID); err != nil {
		return nil, err
	}
	// The OOM killer must pick user code, not bwrap's init or the
	// supervisor (that would end every process of the workspace). Both
	// inherit this; the supervisor resets it to 0 for each command. Best
	// effort: it needs CAP_SYS_RESOURCE, which some hosts' root lacks.
	os.WriteFile(fmt.Sprintf("/proc/%d/oom_score_adj", s.childPID), []byte("-1000"), 0)
	if s.netns, err = os.Open(fmt.Sprintf("/proc/%d/ns/net", s.childPID)); err != nil {
		return nil, fmt.Errorf("sandbox: open netns: %w", err)
	}
	if same, err := sameNamespace(s.netns, "/proc/self/ns/net"); err != nil || same {
		return nil, fmt.Errorf("sandbox: sandbox shares the host network namespace (%v)", err)
	}
	if hook := w.r.opts.NetworkSetup; hook != nil {
		if err := hook(ctx, w.id, s.netns); err != nil {
			return nil, fmt.Errorf("sandbox: network setup: %w", err)
		}
	}
	if _, err := blockW.Write([]byte{1}); err != nil {
		return nil, err
	}
	buf := make([]byte, 16)
	n, err := ctrl.Read(buf)
	if err != nil || string(buf[:n]) != "ready" {
		<-s.exited
		return nil, fmt.Errorf("sandbox: supervisor did not start: %v %s", err, s.stderr.String())
	}
	return s, nil
}

func sameNamespace(f *os.File, other string) (bool, error) {
	var a, b unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &a); err != nil {
		return false, err
	}
	if err := unix.Stat(other, &b); err != nil {
		return false, err
	}
	return a.Ino == b.Ino && a.Dev == b.Dev, nil
}

// kill ends the sandbox: SIGKILL to its pid 1 takes the whole pid
// namespace. The outer bwrap is left alive to reap that pid 1 and exit by
// itself; killing it too would orphan a zombie to the host's init (which
// may never reap it, and the zombie stays charged to the pids cgroup).
func (s *sandboxProc) kill() {
	if s.childFD > 0 {
		unix.PidfdSendSignal(s.childFD, unix.SIGKILL, nil, 0)
		return
	}
	s.killOuter()
}

func (s *sandboxProc) killOuter() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
	}
}

func (s *sandboxProc) close() {
	if s.childFD > 0 {
		unix.Close(s.childFD)
		s.childFD = -1
	}
	s.ctrl.Close()
	if s.netns != nil {
		s.netns.Close()
	}
}

var errSandboxGone = errors.New("sandbox: the workspace sandbox ended")

// spawn asks the supervisor to start a process with the given stdio.
func (s *sandboxProc) spawn(req spawnRequest, stdio [3]*os.File) (handle, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	c, err := fileUnixConn(fds[0])
	if err != nil {
		unix.Close(fds[1])
		return nil, err
	}
	s.ctrlMu.Lock()
	_, _, err = s.ctrl.WriteMsgUnix([]byte{1}, unix.UnixRights(fds[1]), nil)
	s.ctrlMu.Unlock()
	unix.Close(fds[1])
	if err != nil {
		c.Close()
		return nil, errSandboxGone
	}
	if err := sendMsg(c, req, int(stdio[0].Fd()), int(stdio[1].Fd()), int(stdio[2].Fd())); err != nil {
		c.Close()
		return nil, fmt.Errorf("sandbox: spawn: %w", err)
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second)) // a wedged supervisor
	m, err := readSupMsg(c)
	c.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return nil, errSandboxGone
	}
	if m.Err != "" {
		c.Close()
		return nil, fmt.Errorf("sandbox: %s", m.Err)
	}
	return &supHandle{c: c, p: m.Pid}, nil
}

func readSupMsg(c *net.UnixConn) (supMsg, error) {
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		return supMsg{}, err
	}
	var m supMsg
	err = json.Unmarshal(buf[:n], &m)
	return m, err
}

// supHandle is a process started by the supervisor.
type supHandle struct {
	c *net.UnixConn
	p int
}

func (h *supHandle) pid() int { return h.p }

func (h *supHandle) wait() (waitStatus, error) {
	defer h.c.Close()
	for {
		m, err := readSupMsg(h.c)
		if err != nil {
			return waitStatus{}, errSandboxGone
		}
		if m.Exited {
			return m.Status, nil
		}
	}
}

func (h *supHandle) signal(sig syscall.Signal) error {
	sendMsg(h.c, supMsg{Sig: int(sig)}) // fails harmlessly once the process ended
	return nil
}
