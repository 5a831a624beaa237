package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
)

// outputGrace is how long a finished process's output pipes may stay open
// (held by a leftover that escaped the kill) before they are closed.
const outputGrace = time.Second

// spawnRequest is what a launcher needs to start one process.
type spawnRequest struct {
	Args []string `json:"args"`
	Env  []string `json:"env"`
	Dir  string   `json:"dir"`
	PTY  bool     `json:"pty"`
}

// waitStatus is how a process ended.
type waitStatus struct {
	Exit   int `json:"exit"`
	Signal int `json:"signal"`
}

// handle is a started process of a launcher.
type handle interface {
	pid() int
	wait() (waitStatus, error)
	signal(sig syscall.Signal) error
}

// counters are workspace-wide event counters used to explain an exit.
type counters struct {
	oomKills  int64
	pidsLimit int64
	diskFull  bool
}

// launcher starts processes of one workspace (sandboxed or not).
type launcher interface {
	launch(ctx context.Context, req spawnRequest, stdio [3]*os.File) (handle, error)
	counters() counters
	touch()
}

// Process is a started command. For a PTY process, Read/Write/Resize act on
// the terminal; Close releases it.
type Process struct {
	ext    External // set for a process run elsewhere (NewExternal)
	h      handle
	pty    *os.File
	l      launcher
	done   chan struct{}
	res    Result
	err    error
	mu     sync.Mutex
	reason string
}

// Pid is the process id inside the sandbox.
func (p *Process) Pid() int {
	if p.ext != nil {
		return p.ext.Pid()
	}
	return p.h.pid()
}

// Done is closed when the process has ended and its output is flushed.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits for the process to end.
func (p *Process) Wait() (Result, error) { <-p.done; return p.res, p.err }

// Kill kills the process and every process of its session.
func (p *Process) Kill() error { return p.killWith(ReasonKilled) }

// Signal sends sig to the process group.
func (p *Process) Signal(sig syscall.Signal) error {
	if p.ext != nil {
		return p.ext.Signal(sig)
	}
	return p.h.signal(sig)
}

func (p *Process) killWith(reason string) error {
	if p.ext != nil {
		return p.ext.Kill()
	}
	p.mu.Lock()
	if p.reason == "" {
		p.reason = reason
	}
	p.mu.Unlock()
	select {
	case <-p.done:
		return nil
	default:
	}
	return p.h.signal(syscall.SIGKILL)
}

var errNoPTY = errors.New("sandbox: process has no pty")

// Read reads terminal output.
func (p *Process) Read(b []byte) (int, error) {
	if p.ext != nil {
		return p.ext.Read(b)
	}
	if p.pty == nil {
		return 0, errNoPTY
	}
	n, err := p.pty.Read(b)
	if n > 0 {
		p.l.touch()
	}
	return n, err
}

// Write writes terminal input.
func (p *Process) Write(b []byte) (int, error) {
	if p.ext != nil {
		return p.ext.Write(b)
	}
	if p.pty == nil {
		return 0, errNoPTY
	}
	p.l.touch()
	return p.pty.Write(b)
}

// Resize sets the terminal size.
func (p *Process) Resize(rows, cols uint16) error {
	if p.ext != nil {
		return p.ext.Resize(rows, cols)
	}
	if p.pty == nil {
		return errNoPTY
	}
	return pty.Setsize(p.pty, &pty.Winsize{Rows: rows, Cols: cols})
}

// Close kills the process if it still runs and releases the terminal.
func (p *Process) Close() error {
	if p.ext != nil {
		return p.ext.Close()
	}
	p.Kill()
	if p.pty != nil {
		return p.pty.Close()
	}
	return nil
}

// startProcess is the launcher-independent part of Start and StartPTY.
func startProcess(ctx context.Context, l launcher, cmd Cmd, usePTY bool, rows, cols uint16) (*Process, error) {
	if len(cmd.Args) == 0 {
		return nil, errors.New("sandbox: empty command")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := &Process{l: l, done: make(chan struct{})}
	var stdio [3]*os.File
	var childEnds, readers []*os.File
	var copiers sync.WaitGroup
	fail := func(err error) (*Process, error) {
		for _, f := range append(childEnds, readers...) {
			f.Close()
		}
		if p.pty != nil {
			p.pty.Close()
		}
		return nil, err
	}
	if usePTY {
		master, tty, err := pty.Open()
		if err != nil {
			return fail(err)
		}
		p.pty = master
		childEnds = append(childEnds, tty)
		if rows > 0 && cols > 0 {
			pty.Setsize(master, &pty.Winsize{Rows: rows, Cols: cols})
		}
		stdio = [3]*os.File{tty, tty, tty}
	} else {
		if cmd.Stdin == nil {
			f, err := os.Open(os.DevNull)
			if err != nil {
				return fail(err)
			}
			stdio[0] = f
			childEnds = append(childEnds, f)
		} else {
			r, w, err := os.Pipe()
			if err != nil {
				return fail(err)
			}
			stdio[0] = r
			childEnds = append(childEnds, r)
			go func() { io.Copy(w, cmd.Stdin); w.Close() }()
		}
		for i, dst := range []io.Writer{cmd.Stdout, cmd.Stderr} {
			r, w, err := os.Pipe()
			if err != nil {
				return fail(err)
			}
			stdio[i+1] = w
			childEnds = append(childEnds, w)
			readers = append(readers, r)
			if dst == nil {
				dst = io.Discard
			}
			copiers.Add(1)
			go func() { defer copiers.Done(); io.Copy(dst, r) }()
		}
	}
	before := l.counters()
	start := time.Now()
	h, err := l.launch(ctx, spawnRequest{Args: cmd.Args, Env: cmd.Env, Dir: cmd.Dir, PTY: usePTY}, stdio)
	for _, f := range childEnds {
		f.Close()
	}
	childEnds = nil
	if err != nil {
		return fail(err)
	}
	p.h = h
	l.touch()
	go func() {
		st, werr := h.wait()
		flushed := make(chan struct{})
		go func() { copiers.Wait(); close(flushed) }()
		select {
		case <-flushed:
		case <-time.After(outputGrace):
			for _, r := range readers {
				r.Close()
			}
			<-flushed
		}
		for _, r := range readers {
			r.Close()
		}
		after := l.counters()
		p.mu.Lock()
		reason := p.reason
		p.mu.Unlock()
		if werr != nil { // the sandbox went away (KillAll, Close, crash)
			st = waitStatus{Signal: int(syscall.SIGKILL)}
			if reason == "" {
				reason = ReasonKilled
			}
		}
		res := Result{ExitCode: st.Exit, Duration: time.Since(start)}
		if st.Signal != 0 {
			res.ExitCode = 128 + st.Signal
			res.Signal = signalName(st.Signal)
		}
		failed := res.ExitCode != 0
		switch {
		case reason == ReasonTimeout:
			res.Reason = reason
		case failed && after.oomKills > before.oomKills:
			res.Reason = ReasonOutOfMemory
		case reason != "":
			res.Reason = reason
		case failed && after.pidsLimit > before.pidsLimit:
			res.Reason = ReasonProcessLimit
		case failed && after.diskFull:
			res.Reason = ReasonDiskFull
		}
		p.res = res
		l.touch()
		close(p.done)
	}()
	go func() {
		var timeout <-chan time.Time
		if cmd.Timeout > 0 {
			t := time.NewTimer(cmd.Timeout)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-p.done:
		case <-timeout:
			p.killWith(ReasonTimeout)
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				p.killWith(ReasonTimeout)
			} else {
				p.killWith(ReasonKilled)
			}
		}
	}()
	return p, nil
}

// execProcess runs cmd to completion with captured, capped output.
func execProcess(ctx context.Context, l launcher, cmd Cmd, defTimeout time.Duration) (Result, error) {
	limit := cmd.OutputLimit
	if limit <= 0 {
		limit = DefaultOutputLimit
	}
	so, se := &cappedBuffer{limit: limit}, &cappedBuffer{limit: limit}
	cmd.Stdout, cmd.Stderr = so, se
	if cmd.Timeout == 0 {
		cmd.Timeout = defTimeout
	}
	p, err := startProcess(ctx, l, cmd, false, 0, 0)
	if err != nil {
		return Result{}, err
	}
	res, err := p.Wait()
	res.Stdout, res.StdoutTruncated = so.bytes()
	res.Stderr, res.StderrTruncated = se.bytes()
	return res, err
}

func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := "/usr/local/bin:/usr/bin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: command not found", name)
}

// killSession SIGKILLs the process group and every process whose session
// id is sid until none is left (a fork loop cannot outrun it for long: the
// process limit bounds it and killed processes cannot fork).
func killSession(sid int) {
	syscall.Kill(-sid, syscall.SIGKILL)
	self := os.Getpid()
	for range 200 {
		found := false
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == self || pid == 1 {
				continue
			}
			b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
			if err != nil {
				continue
			}
			s := string(b)
			i := strings.LastIndexByte(s, ')')
			if i < 0 {
				continue
			}
			f := strings.Fields(s[i+1:])
			if len(f) < 4 || f[0] == "Z" {
				continue
			}
			if f[3] == strconv.Itoa(sid) || f[2] == strconv.Itoa(sid) {
				found = true
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if !found {
			return
		}
	}
}
