//go:build linux

package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgroups: v2 when a unified hierarchy offers memory, pids and cpu; v1
// (separate memory, pids, cpu and cpuacct hierarchies) otherwise. Every
// workspace gets <own cgroup>/<prefix>/<name> in each hierarchy, where own
// cgroup is the server's cgroup in that hierarchy (so an outer limit on the
// server still applies to the sandboxes).

// pidsReserve is added to Limits.MaxProcs for the sandbox's own tasks
// (bwrap's init and the supervisor's threads, 11 measured).
const pidsReserve = 16

type cgroupRoot struct {
	v2     bool
	parent map[string]string // controller ("memory", "pids", "cpu", "cpuacct" or "" for v2) -> <own>/<prefix>
}

// detectCgroups finds usable hierarchies; procRoot is "/proc" (tests may fake it).
func detectCgroups(prefix string) (*cgroupRoot, error) {
	mounts, err := cgroupMounts("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	own, err := ownCgroups("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	if mp, ok := mounts[""]; ok {
		b, _ := os.ReadFile(filepath.Join(mp, "cgroup.controllers"))
		ctl := " " + strings.TrimSpace(string(b)) + " "
		if strings.Contains(ctl, " memory ") && strings.Contains(ctl, " pids ") && strings.Contains(ctl, " cpu ") {
			r := &cgroupRoot{v2: true, parent: map[string]string{"": filepath.Join(mp, own[""], prefix)}}
			return r, r.prepareV2(filepath.Join(mp, own[""]), prefix)
		}
	}
	r := &cgroupRoot{parent: map[string]string{}}
	for _, c := range []string{"memory", "pids", "cpu", "cpuacct"} {
		mp, ok := mounts[c]
		if !ok {
			return nil, fmt.Errorf("sandbox: no usable cgroup: neither v2 with memory+pids+cpu nor a v1 %s hierarchy", c)
		}
		r.parent[c] = filepath.Join(mp, own[c], prefix)
	}
	for _, p := range r.parent {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return nil, fmt.Errorf("sandbox: cgroup: %w", err)
		}
	}
	return r, nil
}

// prepareV2 enables the controllers for <own>/<prefix>. If the server's own
// cgroup holds processes (v2 forbids controllers there), the server moves
// itself into <own>/ecode-server first.
func (r *cgroupRoot) prepareV2(own, prefix string) error {
	enable := func(dir string) error {
		return os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+memory +pids +cpu"), 0)
	}
	if err := enable(own); err != nil {
		if !errors.Is(err, syscall.EBUSY) {
			return fmt.Errorf("sandbox: cgroup v2 %s: %w", own, err)
		}
		leaf := filepath.Join(own, "ecode-server")
		if err := os.MkdirAll(leaf, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(leaf, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0); err != nil {
			return fmt.Errorf("sandbox: cgroup v2: move server to leaf: %w", err)
		}
		if err := enable(own); err != nil {
			return fmt.Errorf("sandbox: cgroup v2 %s: %w", own, err)
		}
	}
	p := filepath.Join(own, prefix)
	if err := os.MkdirAll(p, 0o755); err != nil {
		return err
	}
	return enable(p)
}

// cgroupMounts maps controller -> mount point ("" = cgroup2).
func cgroupMounts(mountinfo string) (map[string]string, error) {
	f, err := os.Open(mountinfo)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		pre, post, ok := strings.Cut(s.Text(), " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(qf) < 3 {
			continue
		}
		switch qf[0] {
		case "cgroup2":
			if _, dup := m[""]; !dup {
				m[""] = pf[4]
			}
		case "cgroup":
			for _, o := range strings.Split(qf[2], ",") {
				if _, dup := m[o]; !dup {
					m[o] = pf[4]
				}
			}
		}
	}
	return m, s.Err()
}

// ownCgroups maps controller -> path of this process ("" = v2).
func ownCgroups(file string) (map[string]string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			m[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			m[c] = parts[2]
		}
	}
	return m, nil
}

// cgroup is one workspace's set of cgroup directories.
type cgroup struct {
	v2   bool
	dirs map[string]string // controller -> dir
}

func (c *cgroup) unique() []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range c.dirs {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

func writeFile(dir, name, val string) error {
	if err := os.WriteFile(filepath.Join(dir, name), []byte(val), 0); err != nil {
		return fmt.Errorf("sandbox: cgroup %s/%s: %w", dir, name, err)
	}
	return nil
}

// create makes the workspace cgroups and applies the limits.
func (r *cgroupRoot) create(name string, l Limits) (*cgroup, error) {
	c := &cgroup{v2: r.v2, dirs: map[string]string{}}
	for ctl, p := range r.parent {
		c.dirs[ctl] = filepath.Join(p, name)
	}
	for _, d := range c.unique() {
		if err := os.Mkdir(d, 0o755); err != nil && !os.IsExist(err) {
			return nil, fmt.Errorf("sandbox: cgroup: %w", err)
		}
	}
	if err := c.apply(l); err != nil {
		c.remove()
		return nil, err
	}
	return c, nil
}

func (c *cgroup) apply(l Limits) error {
	var errs []error
	quota := int64(l.CPU * 100000)
	if c.v2 {
		d := c.dirs[""]
		if l.MemoryBytes > 0 {
			errs = append(errs, writeFile(d, "memory.max", strconv.FormatInt(l.MemoryBytes, 10)))
			if _, err := os.Stat(filepath.Join(d, "memory.swap.max")); err == nil {
				errs = append(errs, writeFile(d, "memory.swap.max", "0"))
			}
		}
		if l.MaxProcs > 0 {
			errs = append(errs, writeFile(d, "pids.max", strconv.Itoa(l.MaxProcs+pidsReserve)))
		}
		if quota > 0 {
			errs = append(errs, writeFile(d, "cpu.max", fmt.Sprintf("%d 100000", max(quota, 1000))))
		}
		return errors.Join(errs...)
	}
	if l.MemoryBytes > 0 {
		d := c.dirs["memory"]
		v := strconv.FormatInt(l.MemoryBytes, 10)
		errs = append(errs, writeFile(d, "memory.limit_in_bytes", v))
		if _, err := os.Stat(filepath.Join(d, "memory.memsw.limit_in_bytes")); err == nil {
			errs = append(errs, writeFile(d, "memory.memsw.limit_in_bytes", v))
		}
	}
	if l.MaxProcs > 0 {
		errs = append(errs, writeFile(c.dirs["pids"], "pids.max", strconv.Itoa(l.MaxProcs+pidsReserve)))
	}
	if quota > 0 {
		errs = append(errs, writeFile(c.dirs["cpu"], "cpu.cfs_period_us", "100000"))
		errs = append(errs, writeFile(c.dirs["cpu"], "cpu.cfs_quota_us", strconv.FormatInt(max(quota, 1000), 10)))
	}
	return errors.Join(errs...)
}

// add moves pid (and its future children) into every workspace cgroup.
func (c *cgroup) add(pid int) error {
	for _, d := range c.unique() {
		if err := writeFile(d, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

func (c *cgroup) procDir() string {
	if c.v2 {
		return c.dirs[""]
	}
	return c.dirs["pids"]
}

// procs lists the processes in the workspace cgroup.
func (c *cgroup) procs() []int { return readPids(filepath.Join(c.procDir(), "cgroup.procs")) }

func readPids(file string) []int {
	b, _ := os.ReadFile(file)
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// keyed reads "key value" lines.
func keyed(file, key string) int64 {
	b, _ := os.ReadFile(file)
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

func readInt(file string) int64 {
	b, _ := os.ReadFile(file)
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

func (c *cgroup) counters() counters {
	if c.v2 {
		d := c.dirs[""]
		return counters{oomKills: keyed(filepath.Join(d, "memory.events"), "oom_kill"), pidsLimit: keyed(filepath.Join(d, "pids.events"), "max")}
	}
	return counters{
		oomKills:  keyed(filepath.Join(c.dirs["memory"], "memory.oom_control"), "oom_kill"),
		pidsLimit: keyed(filepath.Join(c.dirs["pids"], "pids.events"), "max"),
	}
}

func (c *cgroup) usage() Usage {
	if c.v2 {
		d := c.dirs[""]
		return Usage{
			CPUTime:         time.Duration(keyed(filepath.Join(d, "cpu.stat"), "usage_usec")) * time.Microsecond,
			MemoryBytes:     readInt(filepath.Join(d, "memory.current")),
			MemoryPeakBytes: readInt(filepath.Join(d, "memory.peak")),
		}
	}
	return Usage{
		CPUTime:         time.Duration(readInt(filepath.Join(c.dirs["cpuacct"], "cpuacct.usage"))),
		MemoryBytes:     readInt(filepath.Join(c.dirs["memory"], "memory.usage_in_bytes")),
		MemoryPeakBytes: readInt(filepath.Join(c.dirs["memory"], "memory.max_usage_in_bytes")),
	}
}

// killAll kills every process in the cgroup and waits until it is empty.
func (c *cgroup) killAll() error { return killCgroupDir(c.v2, c.procDir()) }

func killCgroupDir(v2 bool, dir string) error {
	if v2 {
		os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
	}
	file := filepath.Join(dir, "cgroup.procs")
	deadline := time.Now().Add(5 * time.Second)
	for delay := 100 * time.Microsecond; ; delay = min(delay*2, 20*time.Millisecond) {
		pids := readPids(file)
		if len(pids) == 0 {
			return nil
		}
		for _, p := range pids {
			syscall.Kill(p, syscall.SIGKILL)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sandbox: cgroup %s still has processes %v", dir, pids)
		}
		time.Sleep(delay)
	}
}

// remove deletes the (empty) cgroup directories.
func (c *cgroup) remove() error {
	var errs []error
	for _, d := range c.unique() {
		if err := rmdirRetry(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func rmdirRetry(d string) error {
	var err error
	for delay := 100 * time.Microsecond; delay < time.Second; delay *= 2 {
		err = syscall.Rmdir(d)
		if err == nil || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) {
			break
		}
		time.Sleep(delay)
	}
	return fmt.Errorf("sandbox: rmdir %s: %w", d, err)
}

// cleanup kills and removes every workspace cgroup under the prefix.
func (r *cgroupRoot) cleanup() error {
	var errs []error
	for _, pass := range []string{"kill", "rmdir"} {
		for ctl, p := range r.parent {
			ents, err := os.ReadDir(p)
			if err != nil {
				continue
			}
			for _, e := range ents {
				if !e.IsDir() {
					continue
				}
				d := filepath.Join(p, e.Name())
				switch {
				case pass == "kill" && (ctl == "pids" || ctl == ""):
					errs = append(errs, killCgroupDir(r.v2, d))
				case pass == "rmdir":
					errs = append(errs, rmdirRetry(d))
				}
			}
		}
	}
	return errors.Join(errs...)
}
