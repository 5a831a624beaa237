//go:build !linux

package remote

import (
	"syscall"

	"ecode/internal/sandbox"
)

// usage is not measured outside Linux.
func (a *agent) usage() (sandbox.Usage, error) { return sandbox.Usage{}, nil }

func signalOf(b byte) syscall.Signal { return syscall.Signal(b) }
