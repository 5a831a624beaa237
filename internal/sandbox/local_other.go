//go:build !linux

package sandbox

import (
	"context"
	"errors"
	"net"
	"os"
)

var errNotLinux = errors.New("sandbox: the bubblewrap runner needs Linux (use --sandbox=none to run code without isolation)")

// LocalRunner is only available on Linux; elsewhere Check reports why.
type LocalRunner struct{}

// NewLocal returns a runner that refuses to run code on this OS.
func NewLocal(opts Options) *LocalRunner { return &LocalRunner{} }

// Check reports that sandboxing needs Linux.
func (r *LocalRunner) Check() error { return errNotLinux }

// Workspace fails: sandboxing needs Linux.
func (r *LocalRunner) Workspace(ctx context.Context, id string, spec Spec) (Workspace, error) {
	return nil, errNotLinux
}

// Cleanup has nothing to do.
func (r *LocalRunner) Cleanup(ctx context.Context) error { return nil }

// Close has nothing to do.
func (r *LocalRunner) Close() error { return nil }

// ListenInNetns needs Linux.
func ListenInNetns(netns *os.File, network, addr string) (net.Listener, error) {
	return nil, errNotLinux
}
