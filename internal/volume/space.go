package volume

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// SpaceError is a refusal for want of disk space; the API answers it with
// 507 and code disk_full, its message shown as it is.
type SpaceError struct{ Msg string }

func (e *SpaceError) Error() string { return e.Msg }

// InsufficientStorage marks the error for the API (507).
func (e *SpaceError) InsufficientStorage() bool { return true }

// Disk is the file system of the server's data directory, with a reserve
// kept free for the server's own database: below it, new volumes,
// checkpoints and uploads are refused while sign-in and sessions, which
// write little, keep working.
type Disk struct {
	Dir     string // the data directory
	Reserve int64  // bytes kept free
}

// Usage returns the bytes free (to unprivileged writers) and the size of
// the data directory's file system.
func (d Disk) Usage() (free, size int64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(d.Dir, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", d.Dir, err)
	}
	return int64(st.Bavail) * st.Bsize, int64(st.Blocks) * st.Bsize, nil
}

// Check returns a *SpaceError when less than the reserve is free.
func (d Disk) Check() error {
	free, _, err := d.Usage()
	if err != nil {
		return err
	}
	if free < d.Reserve {
		return &SpaceError{Msg: fmt.Sprintf("the server's disk is nearly full (%s free, %s kept for its database): nothing new can be stored until space is freed",
			Bytes(free), Bytes(d.Reserve))}
	}
	return nil
}

// Bytes formats n for people (MiB below a GiB).
func Bytes(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// SetDisk makes the manager admit a new volume only when the data disk
// can back it: the sizes of all volumes (committed, though sparse) plus
// the reserve must fit on the disk, and the reserve must be free now.
func (m *Manager) SetDisk(d Disk) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.disk = &d
}

// Committed is the sum of the sizes of all volumes: what they may come to
// occupy on the data disk.
func (m *Manager) Committed() (int64, error) {
	es, err := os.ReadDir(m.imgDir)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, e := range es {
		if !strings.HasSuffix(e.Name(), ".img") && !strings.HasSuffix(e.Name(), ".img.tmp") {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		n += fi.Size()
	}
	return n, nil
}

// admit refuses a new volume the data disk cannot back (m.mu held).
func (m *Manager) admit() error {
	if m.disk == nil {
		return nil
	}
	if err := m.disk.Check(); err != nil {
		return err
	}
	_, size, err := m.disk.Usage()
	if err != nil {
		return err
	}
	committed, err := m.Committed()
	if err != nil {
		return err
	}
	if committed+m.size+m.disk.Reserve > size {
		return &SpaceError{Msg: fmt.Sprintf("the server's disk cannot hold another project of %s (%s of %s promised to projects already, %s kept for the server)",
			Bytes(m.size), Bytes(committed), Bytes(size), Bytes(m.disk.Reserve))}
	}
	return nil
}
