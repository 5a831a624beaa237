package remote

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"ecode/internal/sandbox"
)

// usage is best effort: CPU and memory from the agent's own cgroup v2 (in a
// pod, the container's cgroup), disk from the filesystem of the root.
// Without cgroup v2 files to read those fields stay zero.
func (a *agent) usage() (sandbox.Usage, error) {
	var u sandbox.Usage
	if dir := ownCgroup(); dir != "" {
		if v := cgroupStat(filepath.Join(dir, "cpu.stat"), "usage_usec"); v > 0 {
			u.CPUTime = time.Duration(v) * time.Microsecond
		}
		u.MemoryBytes = cgroupInt(filepath.Join(dir, "memory.current"))
		u.MemoryPeakBytes = cgroupInt(filepath.Join(dir, "memory.peak"))
	}
	var fs syscall.Statfs_t
	if syscall.Statfs(a.root, &fs) == nil {
		u.DiskTotalBytes = int64(fs.Blocks) * fs.Bsize
		u.DiskUsedBytes = int64(fs.Blocks-fs.Bfree) * fs.Bsize
	}
	return u, nil
}

// ownCgroup is the cgroup v2 directory of this process, or "".
func ownCgroup() string {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(l, "0::"); ok {
			return filepath.Join("/sys/fs/cgroup", filepath.Clean("/"+p))
		}
	}
	return ""
}

func cgroupInt(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	v, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return v
}

func cgroupStat(path, key string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), " "); ok && k == key {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

func signalOf(b byte) syscall.Signal { return syscall.Signal(b) }
