//go:build linux

package remote

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"

	"golang.org/x/sys/unix"

	"ecode/internal/sandbox"
)

// harden prepares the agent to run user commands as another uid. The
// agent must be root: it switches uid and gid for each command
// (CAP_SETUID, CAP_SETGID) and signals those commands (CAP_KILL). It makes
// itself non-dumpable, so its /proc files (environ, mem, fd...) stay
// root's even to a process that got its uid. It returns the function that
// starts every command: from one OS thread with no_new_privs set, which a
// forked child inherits (the flag is per thread, and Go cannot set it on
// all of its threads when cgo is linked in), so no setuid binary or file
// capability can raise a command again. The thread ends with ctx.
func harden(ctx context.Context) (func(*exec.Cmd) error, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("remote: running commands as another uid needs the agent to run as root (uid %d)", os.Geteuid())
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("remote: PR_SET_DUMPABLE: %w", err)
	}
	type startReq struct {
		cmd *exec.Cmd
		err chan error
	}
	reqs, ready := make(chan startReq), make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with this goroutine
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			ready <- fmt.Errorf("remote: PR_SET_NO_NEW_PRIVS: %w", err)
			return
		}
		ready <- nil
		for {
			select {
			case r := <-reqs:
				r.err <- r.cmd.Start()
			case <-ctx.Done():
				return
			}
		}
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return func(cmd *exec.Cmd) error {
		r := startReq{cmd: cmd, err: make(chan error, 1)}
		select {
		case reqs <- r:
			return <-r.err
		case <-ctx.Done():
			return sandbox.ErrClosed
		}
	}, nil
}
