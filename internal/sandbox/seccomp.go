//go:build linux

package sandbox

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Seccomp deny-list. The program is built by hand (classic BPF) so the
// package needs no cgo and no extra module. Policy: default allow; the
// syscalls below fail with EPERM (ENOSYS for clone3 and io_uring, so that
// libc and libuv fall back to the older interfaces); clone with
// CLONE_NEWUSER and ioctl(TIOCSTI) fail with EPERM; a foreign architecture
// (e.g. x32 or i386 syscalls on amd64) kills the process.

const (
	bpfLD  = 0x00
	bpfW   = 0x00
	bpfABS = 0x20
	bpfJMP = 0x05
	bpfJEQ = 0x10
	bpfJGE = 0x30
	bpfJA  = 0x00
	bpfSET = 0x40
	bpfK   = 0x00
	bpfRET = 0x06

	seccompRetKillProcess = 0x80000000
	seccompRetErrno       = 0x00050000
	seccompRetAllow       = 0x7fff0000

	offNr   = 0
	offArch = 4
	offArg0 = 16 // low 32 bits on little-endian
	offArg1 = 24
)

// deniedSyscalls fail with EPERM. Arch-specific extras are in archDenied.
var deniedSyscalls = []uintptr{
	unix.SYS_MOUNT, unix.SYS_UMOUNT2, unix.SYS_PIVOT_ROOT, unix.SYS_CHROOT,
	unix.SYS_MOVE_MOUNT, unix.SYS_OPEN_TREE, unix.SYS_FSOPEN, unix.SYS_FSCONFIG,
	unix.SYS_FSMOUNT, unix.SYS_FSPICK, unix.SYS_MOUNT_SETATTR,
	unix.SYS_SWAPON, unix.SYS_SWAPOFF, unix.SYS_REBOOT,
	unix.SYS_SETHOSTNAME, unix.SYS_SETDOMAINNAME,
	unix.SYS_INIT_MODULE, unix.SYS_FINIT_MODULE, unix.SYS_DELETE_MODULE,
	unix.SYS_KEXEC_LOAD, unix.SYS_KEXEC_FILE_LOAD, unix.SYS_ACCT, unix.SYS_QUOTACTL,
	unix.SYS_PTRACE, unix.SYS_PROCESS_VM_READV, unix.SYS_PROCESS_VM_WRITEV,
	unix.SYS_SETNS, unix.SYS_UNSHARE,
	unix.SYS_KEYCTL, unix.SYS_ADD_KEY, unix.SYS_REQUEST_KEY,
	unix.SYS_BPF, unix.SYS_PERF_EVENT_OPEN, unix.SYS_USERFAULTFD,
	unix.SYS_OPEN_BY_HANDLE_AT, unix.SYS_NAME_TO_HANDLE_AT,
	unix.SYS_SETTIMEOFDAY, unix.SYS_CLOCK_SETTIME, unix.SYS_CLOCK_ADJTIME, unix.SYS_ADJTIMEX,
	unix.SYS_SYSLOG, unix.SYS_VHANGUP, unix.SYS_LOOKUP_DCOOKIE, unix.SYS_FANOTIFY_INIT,
}

// enosysSyscalls fail with ENOSYS.
var enosysSyscalls = []uintptr{
	unix.SYS_CLONE3, unix.SYS_IO_URING_SETUP, unix.SYS_IO_URING_ENTER, unix.SYS_IO_URING_REGISTER,
}

func stmt(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }

func jump(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
}

// seccompProgram returns the filter, or nil on architectures without a
// syscall table here (then no seccomp filter is installed).
func seccompProgram() []unix.SockFilter {
	if auditArch == 0 {
		return nil
	}
	var p []unix.SockFilter
	retErr := func(errno unix.Errno) unix.SockFilter { return stmt(bpfRET|bpfK, seccompRetErrno|uint32(errno)) }
	allow := stmt(bpfRET|bpfK, seccompRetAllow)
	p = append(p,
		stmt(bpfLD|bpfW|bpfABS, offArch),
		jump(bpfJMP|bpfJEQ|bpfK, auditArch, 1, 0),
		stmt(bpfRET|bpfK, seccompRetKillProcess),
		stmt(bpfLD|bpfW|bpfABS, offNr),
	)
	if x32Bit != 0 { // amd64: refuse the x32 ABI
		p = append(p, jump(bpfJMP|bpfJGE|bpfK, x32Bit, 0, 1), retErr(unix.EPERM))
	}
	for _, nr := range append(append([]uintptr{}, deniedSyscalls...), archDenied...) {
		p = append(p, jump(bpfJMP|bpfJEQ|bpfK, uint32(nr), 0, 1), retErr(unix.EPERM))
	}
	for _, nr := range enosysSyscalls {
		p = append(p, jump(bpfJMP|bpfJEQ|bpfK, uint32(nr), 0, 1), retErr(unix.ENOSYS))
	}
	// clone: deny CLONE_NEWUSER (flags are arg0 on every supported arch).
	p = append(p,
		jump(bpfJMP|bpfJEQ|bpfK, uint32(unix.SYS_CLONE), 0, 4),
		stmt(bpfLD|bpfW|bpfABS, offArg0),
		jump(bpfJMP|bpfSET|bpfK, unix.CLONE_NEWUSER, 0, 1),
		retErr(unix.EPERM),
		allow,
	)
	// ioctl: deny TIOCSTI (terminal input injection).
	p = append(p,
		jump(bpfJMP|bpfJEQ|bpfK, uint32(unix.SYS_IOCTL), 0, 4),
		stmt(bpfLD|bpfW|bpfABS, offArg1),
		jump(bpfJMP|bpfJEQ|bpfK, unix.TIOCSTI, 0, 1),
		retErr(unix.EPERM),
		allow,
	)
	return append(p, allow)
}

// seccompFile returns a sealed memfd holding the raw filter for bwrap
// --seccomp, or nil when there is no filter for this architecture.
func seccompFile() (*os.File, error) {
	prog := seccompProgram()
	if prog == nil {
		return nil, nil
	}
	var buf bytes.Buffer
	for _, ins := range prog {
		if err := binary.Write(&buf, binary.NativeEndian, ins); err != nil {
			return nil, err
		}
	}
	return memFile("ecode-seccomp", buf.Bytes())
}

// memFile returns a memfd holding data, positioned at its start.
func memFile(name string, data []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("sandbox: memfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), name)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, 0); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
