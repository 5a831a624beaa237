package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuNote says what the CPU columns count.
const cpuNote = "server cpu: the whole server process over the run (E-Code: this process, with its idle work such as the job queue's polling; the reference: its Node process); rss: resident anonymous memory (heap, stacks; not the pages of the program's own file, which vary with the binary's layout) after the client count's runs"

// cpuTime is the CPU time (user and system) a server process has used so
// far: this process for E-Code, the Node process for the reference. The
// machine's cores are shared by the server and the clients, so a server
// that needs less CPU leaves more to the clients; the table shows both.
func cpuTime(pid int) time.Duration {
	if pid == os.Getpid() {
		var ru syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
			return 0
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// the fields after the command (which may hold spaces): utime and
	// stime are the 14th and 15th, in clock ticks (100 a second on Linux)
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}

// rss is a process's resident anonymous memory now, in bytes: what it
// allocated, not the pages of its executable (E-Code's is a 140 MB
// binary whose resident text varied by 30–45 MB between two builds that
// did the same work).
func rss(pid int) int64 { return statusKB(pid, "RssAnon") * 1024 }

// statusKB reads a "Name: N kB" line of /proc/PID/status.
func statusKB(pid int, name string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	var kb int64
	for _, line := range strings.Split(string(b), "\n") {
		if _, err := fmt.Sscanf(line, name+": %d kB", &kb); err == nil {
			return kb
		}
	}
	return 0
}
