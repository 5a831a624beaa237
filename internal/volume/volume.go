// Package volume gives each project a disk of its own: a sparse ext4 image,
// loop-mounted over the project's folder for as long as the server runs, so
// that a project cannot use more than its size, whether it writes through
// the API or from its sandbox. It needs root (mount); without it projects
// are plain folders with no disk limit.
package volume

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Manager creates and mounts project volumes.
type Manager struct {
	imgDir string // where the images live
	size   int64  // size of a new volume in bytes

	mu      sync.Mutex
	mounted map[string]string // project id → mount point
	disk    *Disk             // nil: no admission check (SetDisk)
}

// New returns a manager keeping images in imgDir. It fails when volumes
// cannot work here (not root, no mkfs.ext4 or mount).
func New(imgDir string, size int64) (*Manager, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("volumes need root (mount)")
	}
	for _, tool := range []string{"mkfs.ext4", "mount", "umount"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("volumes need %s: %w", tool, err)
		}
	}
	if size < 8<<20 {
		return nil, fmt.Errorf("volume size %d is below 8 MiB", size)
	}
	if err := os.MkdirAll(imgDir, 0o700); err != nil {
		return nil, err
	}
	return &Manager{imgDir: imgDir, size: size, mounted: map[string]string{}}, nil
}

func (m *Manager) image(id string) string { return filepath.Join(m.imgDir, id+".img") }

// Attach makes target the mount point of the project's volume, creating the
// volume on first use. It is cheap once the volume is mounted.
func (m *Manager) Attach(target, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mounted[id] == target {
		return nil
	}
	if err := os.MkdirAll(target, 0o755); err != nil {
		return err
	}
	if mounted, err := isMountPoint(target); err != nil {
		return err
	} else if mounted { // left mounted by an earlier run of the server
		m.mounted[id] = target
		return nil
	}
	img := m.image(id)
	if _, err := os.Stat(img); errors.Is(err, os.ErrNotExist) {
		if err := m.admit(); err != nil {
			return err
		}
		if err := m.create(img); err != nil {
			return err
		}
	}
	out, err := exec.Command("mount", "-o", "loop,nosuid,nodev,noatime,discard", img, target).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mount volume of %s: %v: %s", id, err, strings.TrimSpace(string(out)))
	}
	os.Remove(filepath.Join(target, "lost+found"))
	m.mounted[id] = target
	return nil
}

// create makes a sparse, empty ext4 image (no root reserve).
func (m *Manager) create(img string) error {
	tmp := img + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	err = f.Truncate(m.size)
	f.Close()
	if err == nil {
		var out []byte
		out, err = exec.Command("mkfs.ext4", "-q", "-F", "-m", "0", tmp).CombinedOutput()
		if err != nil {
			err = fmt.Errorf("mkfs.ext4: %v: %s", err, strings.TrimSpace(string(out)))
		}
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, img)
}

// Remove unmounts the project's volume and deletes it.
func (m *Manager) Remove(target, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := unmount(target); err != nil {
		return err
	}
	delete(m.mounted, id)
	if err := os.Remove(m.image(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// Close unmounts every volume this manager mounted.
func (m *Manager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for id, target := range m.mounted {
		errs = append(errs, unmount(target))
		delete(m.mounted, id)
	}
	return errors.Join(errs...)
}

func unmount(target string) error {
	mounted, err := isMountPoint(target)
	if err != nil || !mounted {
		return nil
	}
	if err := unix.Unmount(target, 0); err != nil {
		// Busy (a process still has files open): detach lazily.
		if err := unix.Unmount(target, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("unmount %s: %w", target, err)
		}
	}
	return nil
}

// isMountPoint reports whether dir is on another device than its parent.
func isMountPoint(dir string) (bool, error) {
	var st, parent unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return false, nil
		}
		return false, err
	}
	if err := unix.Lstat(filepath.Dir(dir), &parent); err != nil {
		return false, err
	}
	return st.Dev != parent.Dev, nil
}
