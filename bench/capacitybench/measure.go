package main

import (
	"bufio"
	"context"
	"database/sql"
	"ecode/bench/internal/benchsrv"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sandboxProcs are the processes inside this process's bubblewrap
// sandboxes: every descendant of the bwrap processes it started, bwrap
// itself included.
func sandboxProcs() []benchsrv.Proc {
	all := benchsrv.Procs()
	in := map[int]bool{}
	for _, p := range all {
		if p.PPID == os.Getpid() && p.Comm == "bwrap" {
			in[p.PID] = true
		}
	}
	for changed := true; changed; { // parents may be listed after their children
		changed = false
		for _, p := range all {
			if in[p.PPID] && !in[p.PID] {
				in[p.PID], changed = true, true
			}
		}
	}
	var out []benchsrv.Proc
	for _, p := range all {
		if in[p.PID] {
			out = append(out, p)
		}
	}
	return out
}

// pssOf sums the proportional resident memory of ps (a page shared by k
// processes counts 1/k in each: the supervisor's executable, Node's).
func pssOf(ps []benchsrv.Proc) int64 {
	var sum int64
	for _, p := range ps {
		sum += benchsrv.ProcKB(strconv.Itoa(p.PID), "smaps_rollup", "Pss")
	}
	return sum
}

// selfCPU is this process's CPU time so far (E-Code and the bench's idle client).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sandboxCgroup is one sandbox's cgroup: its memory and CPU accounting.
type sandboxCgroup struct {
	name       string // the sandbox id: a project id, or i-<release>-… for a deployment instance
	mem, anon  int64  // bytes charged (page cache included), anonymous part
	cpu        time.Duration
	accounting bool // false: no cgroup files could be read
}

// sandboxCgroups finds the cgroups of the processes in ps (cgroup v1 or
// v2) and reads them, one entry per cgroup.
func sandboxCgroups(ps []benchsrv.Proc) map[string]sandboxCgroup {
	out := map[string]sandboxCgroup{}
	for _, p := range ps {
		memDir, cpuDir, v2 := cgroupDirs(p.PID)
		// a workspace's cgroup is <own>/ecode-<name>/<sandbox id>; bwrap
		// itself stays in the server's
		if memDir == "" || !strings.HasPrefix(filepath.Base(filepath.Dir(memDir)), "ecode-") {
			continue
		}
		if _, seen := out[memDir]; seen {
			continue
		}
		c := sandboxCgroup{name: filepath.Base(memDir)}
		if v2 {
			c.mem = readInt(memDir, "memory.current")
			c.anon = statField(memDir, "memory.stat", "anon")
			c.cpu = time.Duration(statField(cpuDir, "cpu.stat", "usage_usec")) * time.Microsecond
		} else {
			c.mem = readInt(memDir, "memory.usage_in_bytes")
			c.anon = statField(memDir, "memory.stat", "total_rss")
			c.cpu = time.Duration(readInt(cpuDir, "cpuacct.usage"))
		}
		c.accounting = c.mem > 0
		out[memDir] = c
	}
	return out
}

// cgroupDirs names pid's memory and CPU accounting cgroup directories.
func cgroupDirs(pid int) (mem, cpu string, v2 bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return "", "", false
	}
	var unified string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		for _, ctl := range strings.Split(f[1], ",") {
			switch ctl {
			case "memory":
				mem = filepath.Join("/sys/fs/cgroup/memory", f[2])
			case "cpuacct":
				cpu = filepath.Join("/sys/fs/cgroup", f[1], f[2])
			}
		}
		if f[0] == "0" && f[1] == "" {
			unified = f[2]
		}
	}
	if mem != "" && cpu != "" {
		return mem, cpu, false
	}
	for _, root := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		d := filepath.Join(root, unified)
		if _, err := os.Stat(filepath.Join(d, "memory.current")); err == nil {
			return d, d, true
		}
	}
	return "", "", false
}

func readInt(dir, file string) int64 {
	b, _ := os.ReadFile(filepath.Join(dir, file))
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// statField is the value of key in a "key value" file (memory.stat, cpu.stat).
func statField(dir, file, key string) int64 {
	b, _ := os.ReadFile(filepath.Join(dir, file))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+" "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// pgStats reads the write activity of the bench's own database: committed
// transactions (pg_stat_database, read from another database so the
// reading does not count) and rows written per table.
type pgStats struct {
	admin, own *sql.DB
	name       string
}

type pgSnapshot struct {
	commits int64
	rows    map[string]int64 // table -> rows inserted, updated and deleted
}

func (p *pgStats) snapshot(ctx context.Context) (pgSnapshot, error) {
	s := pgSnapshot{rows: map[string]int64{}}
	if err := p.admin.QueryRowContext(ctx, `SELECT xact_commit FROM pg_stat_database WHERE datname = $1`, p.name).Scan(&s.commits); err != nil {
		return s, err
	}
	rows, err := p.own.QueryContext(ctx, `SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables`)
	if err != nil {
		return s, err
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		var n int64
		if err := rows.Scan(&t, &n); err != nil {
			return s, err
		}
		s.rows[t] = n
	}
	return s, rows.Err()
}

// redisCalls is the number of commands the bench's own Redis has served,
// by command, less INFO (the bench's own reading).
func redisCalls(addr string) (map[string]int64, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("INFO commandstats\r\n")); err != nil {
		return nil, err
	}
	r := bufio.NewReader(c)
	head, err := r.ReadString('\n') // $<length>
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(head, "$")))
	if err != nil {
		return nil, fmt.Errorf("redis INFO: %q", head)
	}
	body := make([]byte, n+2)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, line := range strings.Split(string(body), "\r\n") {
		// cmdstat_publish:calls=12,usec=…
		name, rest, ok := strings.Cut(strings.TrimPrefix(line, "cmdstat_"), ":calls=")
		if !ok || name == "info" {
			continue
		}
		v, _, _ := strings.Cut(rest, ",")
		out[name], _ = strconv.ParseInt(v, 10, 64)
	}
	return out, nil
}
