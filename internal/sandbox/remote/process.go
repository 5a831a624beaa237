package remote

import (
	"encoding/json"
	"errors"
	"io"
	"sync"
	"syscall"

	"github.com/hashicorp/yamux"

	"ecode/internal/sandbox"
)

// remoteProcess is a process the agent started; it implements
// sandbox.External.
type remoteProcess struct {
	w   *Workspace
	st  *yamux.Stream
	fw  *frameWriter
	pid int
	pty bool

	done chan struct{}
	res  sandbox.Result
	err  error

	out       chan []byte // terminal output (PTY only)
	pending   []byte
	readMu    sync.Mutex
	closed    chan struct{}
	closeOnce sync.Once
}

var errNoPTY = errors.New("sandbox: process has no pty")

func newRemoteProcess(w *Workspace, st *yamux.Stream, fw *frameWriter, pid int, pty bool) *remoteProcess {
	return &remoteProcess{w: w, st: st, fw: fw, pid: pid, pty: pty, done: make(chan struct{}),
		out: make(chan []byte, 64), closed: make(chan struct{})}
}

// readLoop delivers the agent's frames until the exit frame (or a lost
// connection) and then ends the process.
func (p *remoteProcess) readLoop(stdout, stderr io.Writer) {
	defer close(p.done)
	defer close(p.out)
	defer p.st.Close()
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	for {
		t, b, err := readFrame(p.st, nil)
		if err != nil {
			p.res, p.err = sandbox.Result{ExitCode: -1}, p.w.lost(err)
			return
		}
		p.w.touch()
		switch t {
		case frameStdout:
			if p.pty {
				select {
				case p.out <- b:
				case <-p.closed: // nobody reads a closed terminal
				}
			} else {
				stdout.Write(b)
			}
		case frameStderr:
			stderr.Write(b)
		case frameExit:
			var m exitMsg
			if err := json.Unmarshal(b, &m); err != nil {
				p.res, p.err = sandbox.Result{ExitCode: -1}, p.w.lost(err)
				return
			}
			p.res = m.Result
			if m.Err != "" {
				p.err = errors.New(m.Err)
			}
			return
		}
	}
}

func (p *remoteProcess) Pid() int { return p.pid }

func (p *remoteProcess) Wait() (sandbox.Result, error) { <-p.done; return p.res, p.err }

func (p *remoteProcess) Kill() error {
	select {
	case <-p.done:
		return nil
	default:
	}
	p.fw.write(frameKill, nil)
	return nil
}

func (p *remoteProcess) Signal(sig syscall.Signal) error {
	if sig <= 0 || sig >= 65 {
		return errors.New("remote: bad signal")
	}
	if sig == syscall.SIGKILL {
		return p.Kill()
	}
	return p.fw.write(frameSignal, []byte{byte(sig)})
}

// Read reads terminal output; io.EOF once the process ended and its output
// was read.
func (p *remoteProcess) Read(b []byte) (int, error) {
	if !p.pty {
		return 0, errNoPTY
	}
	p.readMu.Lock()
	defer p.readMu.Unlock()
	if len(p.pending) == 0 {
		select {
		case chunk, ok := <-p.out:
			if !ok {
				return 0, io.EOF
			}
			p.pending = chunk
		case <-p.closed:
			return 0, io.EOF
		}
	}
	n := copy(b, p.pending)
	p.pending = p.pending[n:]
	return n, nil
}

// Write writes terminal input.
func (p *remoteProcess) Write(b []byte) (int, error) {
	if !p.pty {
		return 0, errNoPTY
	}
	p.w.touch()
	if err := p.fw.write(frameStdin, b); err != nil {
		return 0, p.w.lost(err)
	}
	return len(b), nil
}

// Resize sets the terminal size.
func (p *remoteProcess) Resize(rows, cols uint16) error {
	if !p.pty {
		return errNoPTY
	}
	return p.fw.write(frameResize, resizePayload(rows, cols))
}

// Close kills the process if it still runs and stops delivering terminal
// output.
func (p *remoteProcess) Close() error {
	p.Kill()
	p.closeOnce.Do(func() { close(p.closed) })
	return nil
}

// pumpStdin sends r as stdin frames, then stdin EOF.
func pumpStdin(fw *frameWriter, r io.Reader, touch func()) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			touch()
			if fw.write(frameStdin, buf[:n]) != nil {
				return
			}
		}
		if err != nil {
			fw.write(frameStdinEOF, nil)
			return
		}
	}
}
