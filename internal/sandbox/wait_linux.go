//go:build linux

package sandbox

import "golang.org/x/sys/unix"

// waitExitNoReap blocks until child pid has exited, leaving it a zombie.
func waitExitNoReap(pid int) bool {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return err == nil
		}
	}
}
