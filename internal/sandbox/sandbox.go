package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// Reasons reported in Result.Reason.
const (
	ReasonTimeout      = "timeout"       // wall time (Cmd.Timeout / Limits.WallTime / ctx deadline)
	ReasonOutOfMemory  = "out_of_memory" // killed by the memory limit
	ReasonProcessLimit = "process_limit" // a fork failed because of the process limit
	ReasonDiskFull     = "disk_full"     // failed while the workspace disk was full
	ReasonKilled       = "killed"        // killed by Kill, KillAll, Close or ctx cancel
)

// DefaultOutputLimit caps each captured stream of Exec.
const DefaultOutputLimit = 1 << 20

// ErrClosed is returned by a closed Workspace or Runner.
var ErrClosed = errors.New("sandbox: closed")

// Limits of one workspace. A zero field means "no limit" (TmpBytes: 64 MiB).
type Limits struct {
	MemoryBytes int64         // memory (RSS + page cache + tmpfs) of the whole workspace
	CPU         float64       // fraction of cores, e.g. 0.5
	MaxProcs    int           // processes and threads of user code (the sandbox's own tasks have a reserve on top)
	TmpBytes    int64         // size of the /tmp tmpfs
	WallTime    time.Duration // default timeout of Exec
	// DiskBytes is the workspace's disk. The local runner leaves it to the
	// caller (a size-limited volume at Spec.Dir); the Kubernetes runner
	// asks for it as the pod's ephemeral storage.
	DiskBytes int64
}

// Spec describes a workspace.
type Spec struct {
	Dir    string   // host directory of the project, seen as /workspace
	UID    int      // dedicated unprivileged host uid (and gid) of the workspace
	Limits Limits   //
	Env    []string // extra KEY=VALUE for every process
	// Data, when set, is a host directory seen writable at /workspace/.ecode
	// over what Dir has there (a deployment's production database, shared
	// by its releases). It is owned by UID like Dir.
	Data string
}

// Cmd is one command inside a workspace.
type Cmd struct {
	Args    []string      // argv; Args[0] is looked up in PATH
	Env     []string      // extra KEY=VALUE, override Spec.Env and defaults
	Dir     string        // working dir; relative to /workspace (default /workspace)
	Stdin   io.Reader     // nil: /dev/null
	Stdout  io.Writer     // Start only; nil discards. Exec captures.
	Stderr  io.Writer     // Start only; nil discards. Exec captures.
	Timeout time.Duration // 0: Limits.WallTime for Exec, none for Start

	// OutputLimit caps each captured stream of Exec (default 1 MiB).
	OutputLimit int
}

// Result of a finished process.
type Result struct {
	ExitCode        int    // exit status, or 128+signal
	Signal          string // e.g. "killed" when ended by a signal
	Reason          string // one of the Reason constants or ""
	Stdout, Stderr  []byte // Exec only, capped (with a truncation marker)
	StdoutTruncated bool
	StderrTruncated bool
	Duration        time.Duration
}

// Usage of a workspace since its cgroups were created.
type Usage struct {
	CPUTime         time.Duration
	MemoryBytes     int64
	MemoryPeakBytes int64
	DiskUsedBytes   int64
	DiskTotalBytes  int64
}

// Runner creates workspaces.
type Runner interface {
	// Check reports whether this runner can run code here.
	Check() error
	// Workspace opens (or returns the already open) workspace id. The
	// sandbox itself starts lazily with the first command.
	Workspace(ctx context.Context, id string, spec Spec) (Workspace, error)
	// Cleanup removes leftovers of a previous server run (processes,
	// cgroups, mounts). Call it once at startup before opening workspaces.
	Cleanup(ctx context.Context) error
	// Close closes every open workspace.
	Close() error
}

// Workspace is one isolated environment.
type Workspace interface {
	ID() string
	// Exec runs a one-off command and captures its capped output.
	Exec(ctx context.Context, cmd Cmd) (Result, error)
	// Start starts a long-running command that streams its output to
	// cmd.Stdout/cmd.Stderr. Cancelling ctx kills it.
	Start(ctx context.Context, cmd Cmd) (*Process, error)
	// StartPTY starts cmd on a new pseudo-terminal; use Process Read,
	// Write and Resize. Cancelling ctx kills it.
	StartPTY(ctx context.Context, cmd Cmd, rows, cols uint16) (*Process, error)
	// DialContext connects to addr inside the workspace's network
	// namespace (host part: an IP literal or "localhost").
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
	// KillAll kills every process of the workspace; the next command
	// starts a fresh sandbox.
	KillAll() error
	Usage() (Usage, error)
	// LastActivity is the time of the last command, I/O or dial.
	LastActivity() time.Time
	// Close kills everything and releases cgroups and mounts.
	Close() error
}

// cappedBuffer keeps the first limit bytes written and counts the rest.
type cappedBuffer struct {
	limit   int
	buf     []byte
	dropped int64
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	room := b.limit - len(b.buf)
	if room > 0 {
		n := min(room, len(p))
		b.buf = append(b.buf, p[:n]...)
		b.dropped += int64(len(p) - n)
	} else {
		b.dropped += int64(len(p))
	}
	return len(p), nil
}

func (b *cappedBuffer) bytes() ([]byte, bool) {
	if b.dropped == 0 {
		return b.buf, false
	}
	return append(b.buf, fmt.Sprintf("\n[output truncated: %d more bytes]\n", b.dropped)...), true
}

// mergeEnv returns base overridden by each later list (KEY=VALUE, later wins).
func mergeEnv(lists ...[]string) []string {
	idx := map[string]int{}
	var out []string
	for _, l := range lists {
		for _, kv := range l {
			k, _, _ := strings.Cut(kv, "=")
			if i, ok := idx[k]; ok {
				out[i] = kv
				continue
			}
			idx[k] = len(out)
			out = append(out, kv)
		}
	}
	return out
}

// signalName is a readable name for Result.Signal.
func signalName(sig int) string {
	names := map[int]string{1: "hangup", 2: "interrupt", 3: "quit", 6: "aborted", 9: "killed", 11: "segmentation fault", 13: "broken pipe", 15: "terminated"}
	if n, ok := names[sig]; ok {
		return n
	}
	return fmt.Sprintf("signal %d", sig)
}

// atomicTime is a mutex-guarded time (last activity).
type atomicTime struct {
	mu sync.Mutex
	t  time.Time
}

func (a *atomicTime) store(t time.Time) { a.mu.Lock(); a.t = t; a.mu.Unlock() }
func (a *atomicTime) load() time.Time   { a.mu.Lock(); defer a.mu.Unlock(); return a.t }

// Options configure the local (bubblewrap) runner.
type Options struct {
	BwrapPath    string // default: "bwrap" from PATH
	StateDir     string // runtime state and host mounts; default /run/ecode-sandbox
	CgroupPrefix string // cgroup directory under the server's cgroups; default "ecode-sandbox"

	// ExtraBwrapArgs are appended to every sandbox's bwrap options (e.g.
	// more read-only toolchain binds, or a resolv.conf for egress).
	ExtraBwrapArgs []string
	// NetworkSetup, when set, runs after a sandbox's network namespace
	// exists and before any of its processes run. It is the hook for an
	// egress mode (e.g. slirp4netns --netns-type=path /proc/self/fd/N plus
	// nft rules). Default: no hook, loopback only.
	NetworkSetup func(ctx context.Context, workspaceID string, netns *os.File) error
}
