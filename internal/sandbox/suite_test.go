//go:build linux

package sandbox_test

import (
	"testing"

	"ecode/internal/sandbox"
	"ecode/internal/sandbox/sandboxtest"
)

// TestSuite runs the behaviour every backend shares on the local runner.
func TestSuite(t *testing.T) {
	sandboxtest.Run(t, sandbox.OpenTestWorkspace, sandboxtest.Caps{MemoryLimit: true})
}
