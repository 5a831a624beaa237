package workspace

import (
	"errors"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// A project's files folder, once opened (its volume attached, the restore
// guard passed), stays open in Files' cache: reading a file then costs the
// file's own open, stat, read and close, as with a bare file server. The
// cached folder is the same directory the project's files live in, so
// writes, restores (which rename entries inside it) and sandboxes' changes
// show through it. What takes the folder itself away or must run the guard
// again drops it with Forget: deleting or creating the project, the start
// of a restore, a revocation naming the project (from any node).

// maxOpenRoots bounds the folders kept open (one descriptor each); past it
// an arbitrary one is dropped.
const maxOpenRoots = 512

// sharedRoot is one project's open files folder, shared by the Projects
// using it; it is closed when dropped from the cache and no longer used.
type sharedRoot struct {
	root    *os.Root
	dir     *os.File // the same folder, for openat2 (kept open with root)
	fd      int      // dir's descriptor
	refs    int      // Projects using it, plus one while cached
	dropped bool
}

// roots is Files' cache of open project folders.
type roots struct {
	mu   sync.Mutex
	open map[string]*sharedRoot
	gen  uint64 // counts Forgets: an open that began before one is not cached
}

// get returns the cached folder of the project, taking a reference.
func (c *roots) get(projectID string) *sharedRoot {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.open[projectID]
	if r != nil {
		r.refs++
	}
	return r
}

// generation is read before an open begins; put caches the result only if
// no Forget came in between.
func (c *roots) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put caches r (referenced once by its caller) when nothing was forgotten
// since gen and no other open of the project got there first; it returns
// the folder the caller should use.
func (c *roots) put(projectID string, r *sharedRoot, gen uint64) *sharedRoot {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		r.dropped = true // used once, closed by its caller's Close
		return r
	}
	if prev := c.open[projectID]; prev != nil {
		prev.refs++
		r.dropped = true
		r.releaseLocked()
		return prev
	}
	if c.open == nil {
		c.open = map[string]*sharedRoot{}
	}
	if len(c.open) >= maxOpenRoots {
		for id := range c.open {
			c.dropLocked(id)
			break
		}
	}
	r.refs++ // the cache's reference
	c.open[projectID] = r
	return r
}

// release gives back a reference taken by get or put.
func (c *roots) release(r *sharedRoot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r.releaseLocked()
}

// forget drops the project's folder from the cache (all projects' when
// projectID is ""); Projects still using it keep it until they close.
func (c *roots) forget(projectID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if projectID != "" {
		c.dropLocked(projectID)
		return
	}
	for id := range c.open {
		c.dropLocked(id)
	}
}

func (c *roots) dropLocked(projectID string) {
	r := c.open[projectID]
	if r == nil {
		return
	}
	delete(c.open, projectID)
	r.dropped = true
	r.releaseLocked()
}

func (r *sharedRoot) releaseLocked() {
	if r.refs--; r.refs <= 0 && r.dropped {
		r.root.Close()
		r.dir.Close()
	}
}

// openRoot opens a project's files folder twice: as an os.Root (every
// operation) and as a plain descriptor for openBeneath.
func openRoot(dir string) (*sharedRoot, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	d, err := root.Open(".")
	if err != nil {
		root.Close()
		return nil, err
	}
	return &sharedRoot{root: root, dir: d, fd: int(d.Fd()), refs: 1}, nil
}

// errNoOpenat2 means openBeneath cannot answer (an old kernel, a seccomp
// filter, a rename racing the lookup): the caller uses os.Root instead.
var errNoOpenat2 = errors.New("openat2 unavailable")

// openBeneath opens name (clean, relative) for reading in one system call:
// openat2 with RESOLVE_BENEATH, so that the kernel refuses any step out of
// the folder (absolute paths, "..", symlinks pointing out or absolute),
// as os.Root does component by component.
func (r *sharedRoot) openBeneath(name string) (*os.File, error) {
	fd, err := r.openFdBeneath(name)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// openFdBeneath is openBeneath's system call: the bare descriptor.
func (r *sharedRoot) openFdBeneath(name string) (int, error) {
	how := unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	}
	for {
		fd, err := unix.Openat2(r.fd, name, &how)
		switch {
		case err == nil:
			return fd, nil
		case err == unix.EINTR:
			continue
		case err == unix.EXDEV:
			return -1, &os.PathError{Op: "openat2", Path: name, Err: errors.New("path escapes from parent")}
		case err == unix.ENOSYS, err == unix.EPERM, err == unix.EAGAIN, err == unix.EINVAL, err == unix.E2BIG:
			return -1, errNoOpenat2
		}
		return -1, &os.PathError{Op: "openat2", Path: name, Err: err.(syscall.Errno)}
	}
}
