//go:build linux

package sandbox

import (
	"context"
	"os/exec"
	"syscall"
	"testing"
)

// Exec latency: through the API (the workspace sandbox already running),
// bare fork+exec on the host, and a fresh one-shot bwrap per command
// (hardened flags, no cgroups or seccomp).
//
//	go test -run '^$' -bench Exec -benchtime 200x ./internal/sandbox/
func BenchmarkExec(b *testing.B) {
	cmds := map[string][]string{
		"true":   {"/usr/bin/true"},
		"python": {"/usr/bin/python3", "-c", "pass"},
		"node":   {"/usr/bin/node", "-e", "0"},
	}
	w := newWS(b, Limits{MemoryBytes: 512 << 20, MaxProcs: 128, CPU: 2})
	execOK(b, w, "true")
	bwrapArgs := []string{"--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
		"--clearenv", "--cap-drop", "ALL", "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib",
		"--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin", "--proc", "/proc", "--dev", "/dev",
		"--tmpfs", "/tmp", "--"}
	for _, name := range []string{"true", "python", "node"} {
		args := cmds[name]
		b.Run(name+"/api", func(b *testing.B) {
			for b.Loop() {
				res, err := w.Exec(context.Background(), Cmd{Args: args})
				if err != nil || res.ExitCode != 0 {
					b.Fatal(res, err)
				}
			}
		})
		b.Run(name+"/bare", func(b *testing.B) {
			for b.Loop() {
				if err := exec.Command(args[0], args[1:]...).Run(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/bwrap-oneshot", func(b *testing.B) {
			for b.Loop() {
				cmd := exec.Command("bwrap", append(bwrapArgs, args...)...)
				cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatal(err, string(out))
				}
			}
		})
	}
}

// BenchmarkSandboxStart: start a workspace sandbox, run true, KillAll.
func BenchmarkSandboxStart(b *testing.B) {
	w := newWS(b, Limits{MemoryBytes: 256 << 20, MaxProcs: 64, CPU: 1})
	for b.Loop() {
		execOK(b, w, "/usr/bin/true")
		if err := w.KillAll(); err != nil {
			b.Fatal(err)
		}
	}
}
