package sandbox

import "syscall"

// External is a process that runs outside this package's runners, such as
// one a remote workspace agent started in a pod. NewExternal wraps it as a
// Process so that every backend hands out the same type.
type External interface {
	Pid() int
	// Wait blocks until the process ended and all of its output was
	// delivered to the Cmd's writers.
	Wait() (Result, error)
	// Kill kills the process and its session; Result.Reason is "killed".
	Kill() error
	Signal(sig syscall.Signal) error
	// Read, Write and Resize act on the terminal of a StartPTY process.
	Read(b []byte) (int, error)
	Write(b []byte) (int, error)
	Resize(rows, cols uint16) error
	// Close kills the process if it still runs and releases it.
	Close() error
}

// NewExternal returns a Process backed by e.
func NewExternal(e External) *Process {
	p := &Process{ext: e, done: make(chan struct{})}
	go func() {
		p.res, p.err = e.Wait()
		close(p.done)
	}()
	return p
}
