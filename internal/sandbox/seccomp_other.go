//go:build linux && !amd64 && !arm64

package sandbox

// No syscall table for this architecture: bwrap runs without a seccomp filter.
const (
	auditArch = 0
	x32Bit    = 0
)

var archDenied = []uintptr{}
