//go:build !linux

package sandbox

// waitExitNoReap is not available here; the session is killed after reaping.
func waitExitNoReap(pid int) bool { return false }
