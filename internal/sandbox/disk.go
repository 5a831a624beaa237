//go:build linux

package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Mounts and disk space of workspaces. The disk limit itself is the
// caller's (a size-limited filesystem at Spec.Dir, e.g. a project volume):
// when it is full, commands' Result.Reason is "disk_full".

func chownTree(dir string, uid int) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return err
	}
	if int(st.Uid) != uid || int(st.Gid) != uid {
		if err := unix.Fchown(fd, uid, uid); err != nil {
			unix.Close(fd)
			return err
		}
	}
	return chownDirFD(fd, uid, 0)
}

// chownDirFD chowns the entries of the open directory fd (and closes it).
func chownDirFD(fd, uid, depth int) error {
	f := os.NewFile(uintptr(fd), "dir")
	defer f.Close()
	if depth > 256 {
		return errors.New("directory tree too deep")
	}
	for {
		names, err := f.Readdirnames(512)
		for _, name := range names {
			var st unix.Stat_t
			if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				continue // vanished
			}
			if int(st.Uid) != uid || int(st.Gid) != uid {
				if err := unix.Fchownat(fd, name, uid, uid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
					return err
				}
			}
			if st.Mode&unix.S_IFMT == unix.S_IFDIR {
				sub, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
				if err != nil {
					continue
				}
				if err := chownDirFD(sub, uid, depth+1); err != nil {
					return err
				}
			}
		}
		if err != nil || len(names) == 0 {
			return nil
		}
	}
}

// bindMount makes src visible at target (host mount namespace).
func bindMount(src, target string, readOnly bool) error {
	if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("sandbox: bind %s: %w", src, err)
	}
	if readOnly {
		flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV)
		if err := unix.Mount("", target, "", flags, ""); err != nil {
			unix.Unmount(target, unix.MNT_DETACH)
			return fmt.Errorf("sandbox: remount ro %s: %w", target, err)
		}
	}
	return nil
}

// bindData binds the host directory data at <mnt>/.ecode. The mount point
// is opened without following a symlink (the workspace's files are the
// user's: .ecode could be one pointing anywhere on the host) and the mount
// goes through that open descriptor.
func bindData(data, mnt string, uid int) error {
	if err := chownTree(data, uid); err != nil {
		return fmt.Errorf("sandbox: chown data: %w", err)
	}
	root, err := unix.Open(mnt, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(root)
	if err := unix.Mkdirat(root, ".ecode", 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("sandbox: data mount point: %w", err)
	}
	fd, err := unix.Openat(root, ".ecode", unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("sandbox: data mount point .ecode is not a directory: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Mount(data, fmt.Sprintf("/proc/self/fd/%d", fd), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("sandbox: bind data %s: %w", data, err)
	}
	return nil
}

// mountPoints returns the mount points of this mount namespace.
func mountPoints() (map[string]bool, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string]bool{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		if fl := strings.Fields(s.Text()); len(fl) > 4 {
			m[unescapeMount(fl[4])] = true
		}
	}
	return m, s.Err()
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unmountAll unmounts (once) every given path that is a mount point, deepest first.
func unmountAll(paths ...string) error {
	mps, err := mountPoints()
	if err != nil {
		return err
	}
	sort.Slice(paths, func(i, j int) bool { return len(paths[i]) > len(paths[j]) })
	var errs []error
	for _, p := range paths {
		if !mps[p] {
			continue
		}
		mps[p] = false
		if err := unix.Unmount(p, 0); err != nil {
			if err := unix.Unmount(p, unix.MNT_DETACH); err != nil {
				errs = append(errs, fmt.Errorf("sandbox: unmount %s: %w", p, err))
			}
		}
	}
	return errors.Join(errs...)
}

// mountsUnder lists mount points below dir.
func mountsUnder(dir string) []string {
	mps, _ := mountPoints()
	var out []string
	for p := range mps {
		if strings.HasPrefix(p, dir+"/") {
			out = append(out, p)
		}
	}
	return out
}

// diskFull reports whether the filesystem at dir has (almost) no room left:
// less than 2 MiB + 1% (at most 64 MiB) available, or no free inode. ext4
// refuses writes a little before statfs reaches zero (metadata, delayed
// allocation reserve), so "exactly zero" would miss real ENOSPC failures.
func diskFull(dir string) bool {
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil {
		return false
	}
	total := st.Blocks * uint64(st.Bsize)
	slack := min(2<<20+total/100, 64<<20)
	return st.Bavail*uint64(st.Bsize) < slack || (st.Files > 0 && st.Ffree == 0)
}

func diskUsage(dir string) (used, total int64) {
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil {
		return 0, 0
	}
	total = int64(st.Blocks) * st.Bsize
	return total - int64(st.Bfree)*st.Bsize, total
}
