package benchsrv

// What the benches read of processes and the network: every process from
// /proc with its parent and CPU time, "Name: N kB" lines, free ports.

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Proc is one process as /proc/PID/stat shows it.
type Proc struct {
	PID, PPID int
	Comm      string
	CPU       time.Duration // user + system
}

// clockTick is the kernel's USER_HZ (100 on every Linux this runs on).
const clockTick = 10 * time.Millisecond

// Procs reads every process on the machine (those that end meanwhile are
// left out).
func Procs() []Proc {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []Proc
	for _, name := range stats {
		if p, ok := readStat(name); ok {
			out = append(out, p)
		}
	}
	return out
}

// ProcCPU is the CPU time a process has used so far, 0 if it is gone.
func ProcCPU(pid int) time.Duration {
	p, _ := readStat("/proc/" + strconv.Itoa(pid) + "/stat")
	return p.CPU
}

// readStat reads a /proc/PID/stat file.
func readStat(name string) (Proc, bool) {
	b, err := os.ReadFile(name)
	if err != nil {
		return Proc{}, false // ended meanwhile
	}
	// pid (comm) state ppid … utime(14) stime(15); comm may hold spaces and parentheses.
	s := string(b)
	open, shut := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || shut < open {
		return Proc{}, false
	}
	f := strings.Fields(s[shut+1:])
	if len(f) < 13 {
		return Proc{}, false
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(s[:open]))
	ppid, _ := strconv.Atoi(f[1])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return Proc{pid, ppid, s[open+1 : shut], time.Duration(ut+st) * clockTick}, true
}

// ProcKB is a "Name: N kB" line of /proc/PID/FILE (pid may be "self"), in
// bytes; 0 when it is not there.
func ProcKB(pid, file, name string) int64 {
	f, err := os.Open("/proc/" + pid + "/" + file)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n << 10
		}
	}
	return 0
}

// FreePort is a loopback port nobody listens on.
func FreePort() (string, error) {
	addr, err := freeAddr()
	if err != nil {
		return "", err
	}
	_, port, err := net.SplitHostPort(addr)
	return port, err
}
