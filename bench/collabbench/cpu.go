package main

import (
	"ecode/bench/internal/benchsrv"
	"os"
	"strconv"
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
	return benchsrv.ProcCPU(pid)
}

// rss is a process's resident anonymous memory now, in bytes: what it
// allocated, not the pages of its executable (E-Code's is a 140 MB
// binary whose resident text varied by 30–45 MB between two builds that
// did the same work).
func rss(pid int) int64 { return benchsrv.ProcKB(strconv.Itoa(pid), "status", "RssAnon") }
