//go:build linux

package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// The supervisor runs as the sandbox's command (pid 2, under bwrap's init).
// It is this package re-executed from the server binary: bwrap gets the
// binary bind-mounted at supervisorPath and starts it with supervisorArg.
//
// Protocol (all SOCK_SEQPACKET, JSON messages):
//   - the control socket (fd in argv) carries one message per process:
//     a byte plus one fd, the process's own socket;
//   - on the process socket the server sends a spawnRequest with the three
//     stdio fds; the supervisor answers {"pid":N} or {"err":...}, and later
//     {"exited":true,"exit":..,"signal":..}; the server may send
//     {"sig":N}; closing the process socket kills the process's session.
//   - when the control socket closes, the supervisor exits, and with it
//     (pid namespace) every process of the sandbox.
const (
	supervisorArg  = "__ecode_sandbox_supervisor__"
	supervisorPath = "/.ecode/init"
)

var forkMu sync.Mutex

type supMsg struct {
	Pid    int        `json:"pid,omitempty"`
	Err    string     `json:"err,omitempty"`
	Exited bool       `json:"exited,omitempty"`
	Status waitStatus `json:"status"`
	Sig    int        `json:"sig,omitempty"`
}

func init() {
	if len(os.Args) == 3 && os.Args[1] == supervisorArg {
		os.Exit(runSupervisor(os.Args[2]))
	}
}

func runSupervisor(fdArg string) int {
	fd, err := strconv.Atoi(fdArg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ecode supervisor: bad fd")
		return 2
	}
	// Few threads, all created now: under a fork bomb that fills the
	// process limit the runtime must not need a new thread (it would die).
	runtime.GOMAXPROCS(1)
	prewarmThreads(4)
	// Caught and dropped rather than ignored: an ignored disposition
	// survives exec, and commands must start with SIGTERM, SIGINT, SIGHUP
	// and SIGPIPE at their defaults (a shell cannot even trap a signal that
	// was ignored when it started).
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGCHLD)
	go reaper.loop(sigc)
	ctrl, err := fileUnixConn(fd)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ecode supervisor:", err)
		return 2
	}
	if _, err := ctrl.Write([]byte("ready")); err != nil {
		return 2
	}
	buf := make([]byte, 16)
	oob := make([]byte, unix.CmsgSpace(4))
	for {
		_, oobn, _, _, err := ctrl.ReadMsgUnix(buf, oob)
		if err != nil {
			return 0
		}
		fds, err := parseRights(oob[:oobn])
		if err != nil || len(fds) != 1 {
			continue
		}
		go serveProcess(fds[0])
	}
}

// prewarmThreads makes the Go runtime create n OS threads that then stay
// idle for later use.
func prewarmThreads(n int) {
	var wg sync.WaitGroup
	release := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			runtime.LockOSThread()
			wg.Done()
			<-release
			runtime.UnlockOSThread()
		}()
	}
	wg.Wait()
	close(release)
}

// reaper collects every child of the supervisor from one SIGCHLD loop, so
// no thread blocks in wait per running process.
var reaper = &childReaper{waiters: map[int]chan waitStatus{}, early: map[int]waitStatus{}}

type childReaper struct {
	mu      sync.Mutex
	waiters map[int]chan waitStatus
	early   map[int]waitStatus
}

func (r *childReaper) loop(sigc <-chan os.Signal) {
	for range sigc {
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if err != nil || pid <= 0 {
				break
			}
			var st waitStatus
			if ws.Signaled() {
				st.Signal = int(ws.Signal())
			} else {
				st.Exit = ws.ExitStatus()
			}
			r.mu.Lock()
			if ch, ok := r.waiters[pid]; ok {
				delete(r.waiters, pid)
				ch <- st
			} else {
				r.early[pid] = st
			}
			r.mu.Unlock()
		}
	}
}

func (r *childReaper) wait(pid int) <-chan waitStatus {
	ch := make(chan waitStatus, 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if st, ok := r.early[pid]; ok {
		delete(r.early, pid)
		ch <- st
	} else {
		r.waiters[pid] = ch
	}
	return ch
}

func fileUnixConn(fd int) (*net.UnixConn, error) {
	f := os.NewFile(uintptr(fd), "sock")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, errors.New("not a unix socket")
	}
	return uc, nil
}

func parseRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, m := range msgs {
		f, err := unix.ParseUnixRights(&m)
		if err != nil {
			return nil, err
		}
		fds = append(fds, f...)
	}
	return fds, nil
}

func sendMsg(c *net.UnixConn, m any, fds ...int) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	_, _, err = c.WriteMsgUnix(b, oob, nil)
	return err
}

func serveProcess(fd int) {
	c, err := fileUnixConn(fd)
	if err != nil {
		return
	}
	defer c.Close()
	buf := make([]byte, 256<<10)
	oob := make([]byte, unix.CmsgSpace(3*4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return
	}
	fds, _ := parseRights(oob[:oobn])
	files := make([]*os.File, len(fds))
	for i, fd := range fds {
		files[i] = os.NewFile(uintptr(fd), "stdio")
	}
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	var req spawnRequest
	if err := json.Unmarshal(buf[:n], &req); err != nil || len(files) != 3 || len(req.Args) == 0 {
		closeAll()
		sendMsg(c, supMsg{Err: "bad request"})
		return
	}
	dir := "/workspace"
	if req.Dir != "" {
		dir = filepath.Join("/workspace", req.Dir)
		if filepath.IsAbs(req.Dir) {
			dir = req.Dir
		}
	}
	pid := 0
	path, err := lookPath(req.Args[0], req.Env)
	if err == nil {
		// Only stdio reaches the command: mark every other fd close-on-exec
		// (fds inherited from bwrap or opened without O_CLOEXEC).
		unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
		// The command starts with oom_score_adj 0 while the supervisor
		// keeps the -1000 the server gave it (allowed: not below the
		// minimum root set).
		forkMu.Lock()
		os.WriteFile("/proc/self/oom_score_adj", []byte("0"), 0)
		pid, err = syscall.ForkExec(path, req.Args, &syscall.ProcAttr{
			Dir:   dir,
			Env:   req.Env,
			Files: []uintptr{uintptr(fds[0]), uintptr(fds[1]), uintptr(fds[2])},
			Sys:   &syscall.SysProcAttr{Setsid: true, Setctty: req.PTY},
		})
		os.WriteFile("/proc/self/oom_score_adj", []byte("-1000"), 0)
		forkMu.Unlock()
	}
	closeAll()
	if err != nil {
		sendMsg(c, supMsg{Err: fmt.Sprintf("%s: %v", req.Args[0], err)})
		return
	}
	exited := reaper.wait(pid)
	if sendMsg(c, supMsg{Pid: pid}) != nil {
		killSession(pid)
	}
	var once sync.Once
	go func() { // signals from the server; EOF kills the session
		b := make([]byte, 4096)
		for {
			n, err := c.Read(b)
			if err != nil {
				once.Do(func() { killSession(pid) })
				return
			}
			var m supMsg
			if json.Unmarshal(b[:n], &m) != nil || m.Sig == 0 {
				continue
			}
			if m.Sig == int(syscall.SIGKILL) {
				killSession(pid)
			} else {
				syscall.Kill(-pid, syscall.Signal(m.Sig))
			}
		}
	}()
	st := <-exited
	once.Do(func() { killSession(pid) }) // leftovers (background jobs) of a finished command
	sendMsg(c, supMsg{Exited: true, Status: st})
}
