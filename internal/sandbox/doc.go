// Package sandbox runs user and AI-agent code of a workspace in isolation.
//
// A Runner hands out one long-lived Workspace per active workspace id; Exec
// (one-off, captured and capped output), Start (streamed output), StartPTY
// (terminal) and DialContext (for the preview proxy) all act on the same
// sandbox, so they share one filesystem view and one network namespace.
//
// # Local runner
//
// NewLocal puts every workspace into its own bubblewrap sandbox, started as
// the workspace's dedicated unprivileged uid: new user, pid, mount, ipc,
// uts, cgroup and network namespaces; --disable-userns; no capabilities;
// no_new_privs; a seccomp deny-list (mount family, ptrace, process_vm_*,
// setns/unshare, keyctl, bpf, perf_event_open, userfaultfd, kexec and module
// calls, clock setting, clone(CLONE_NEWUSER), ioctl(TIOCSTI); clone3 and
// io_uring report ENOSYS); a clean environment. The root is read-only: the
// host's /usr (plus the /bin, /lib… links) and a small /etc subset, a
// generated /etc/passwd, fresh /proc and /dev, a sized tmpfs at /tmp, and
// the project at /workspace (read-write). The network namespace only has
// loopback; Options.NetworkSetup is the hook for a later egress mode.
//
// Limits come from cgroups, chosen at runtime: v2 when a unified hierarchy
// offers memory, pids and cpu, v1 otherwise (memory, pids, cpu, cpuacct).
// The workspace cgroups live under the server's own cgroup in each
// hierarchy, in a directory named Options.CgroupPrefix. The disk limit is the
// caller's: a size-limited filesystem at Spec.Dir (E-Code's project volumes,
// package volume); a full one makes commands end with reason "disk_full".
//
// Inside each sandbox a small supervisor spawns the commands. It is this
// package re-executed from the server binary (bind-mounted read-only at
// /.ecode/init): an init function recognises the supervisor's arguments,
// so main needs no wiring. Commands inherit every restriction of the
// sandbox; each runs in its own session, which is killed when the command
// ends, times out or is killed.
//
// The local runner must run as root (uid switch, cgroups, mounts). Call
// Check at startup (it tells why code cannot run here) and Cleanup before
// opening workspaces (it removes what a crashed previous run left).
//
// # None runner
//
// None runs commands directly on the host with only the wall-time limit,
// for operators who explicitly choose --sandbox=none.
package sandbox
