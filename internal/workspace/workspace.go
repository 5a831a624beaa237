// Package workspace stores project files on disk. Every path is confined to
// its project with os.Root, writes are atomic (temp file + rename) and sizes
// are limited.
package workspace

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Errors callers turn into responses.
var (
	ErrBadPath  = errors.New("invalid path")
	ErrNotExist = errors.New("no such file or folder")
	ErrExists   = errors.New("a file or folder with this name already exists")
	ErrTooLarge = errors.New("file too large")
	ErrIsDir    = errors.New("is a folder")
	ErrNotDir   = errors.New("not a folder")
)

// Files holds every project's files under one directory: project p's
// files are in <dir>/<p>/files; <dir>/<p> is the project's own area (its
// volume when volumes are on), where work that must stay on the same
// filesystem (a restore built aside) can live.
type Files struct {
	dir   string // data-dir/projects
	vol   Volumes
	guard func(projectID string) error
	space func() error // nil: no check
	swept sync.Map     // project ids whose stale temporary files were removed
	roots roots        // open project folders (roots.go)
}

// SetSpaceCheck makes new projects and uploads ask space first: it
// returns an error (package volume's SpaceError) when the server's disk is
// too full to take more.
func (f *Files) SetSpaceCheck(space func() error) { f.space = space }

// SetGuard makes guard run each time a project is opened, once its volume
// is attached and before its files are used (package history finishes an
// interrupted restore there). Call it before serving.
func (f *Files) SetGuard(guard func(projectID string) error) { f.guard = guard }

// Volumes give each project a size-limited filesystem (package volume).
type Volumes interface {
	// Attach makes target the mount point of the project's volume.
	Attach(target, projectID string) error
	// Remove unmounts the project's volume and deletes it.
	Remove(target, projectID string) error
}

// New returns the file store rooted at dir, creating it. vol may be nil
// (no disk limit per project).
func New(dir string, vol Volumes) (*Files, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	return &Files{dir: abs, vol: vol}, nil
}

// Area is the project's own folder (the volume's mount point), holding Dir.
func (f *Files) Area(projectID string) string { return filepath.Join(f.dir, projectID) }

// Dir is the folder of the project's files on the host (for the sandbox to mount).
func (f *Files) Dir(projectID string) string { return filepath.Join(f.dir, projectID, "files") }

// Project opens a project's root; the caller closes it. A project opened
// before is served from the cache of open folders (roots.go) without
// system calls.
func (f *Files) Project(projectID string) (*Project, error) {
	if !validID(projectID) {
		return nil, ErrBadPath
	}
	if r := f.roots.get(projectID); r != nil {
		return &Project{root: r.root, shared: r, files: f, space: f.space}, nil
	}
	gen := f.roots.generation()
	if _, err := os.Lstat(f.Area(projectID)); err != nil {
		return nil, mapErr(err)
	}
	if f.vol != nil {
		if err := f.vol.Attach(f.Area(projectID), projectID); err != nil {
			return nil, err
		}
	}
	if f.guard != nil {
		if err := f.guard(projectID); err != nil {
			return nil, err
		}
	}
	r, err := openRoot(f.Dir(projectID))
	if err != nil {
		return nil, mapErr(err)
	}
	p := &Project{root: r.root, space: f.space}
	if _, done := f.swept.LoadOrStore(projectID, true); !done {
		p.removeStaleTemps(time.Now()) // once per project and process
	}
	r = f.roots.put(projectID, r, gen)
	p.root, p.shared, p.files = r.root, r, f
	return p, nil
}

// Forget drops the project's open folder from the cache, so that the next
// open attaches its volume, runs the guard and opens the folder again
// (Projects open now keep theirs until they close). Call it when the folder
// is replaced or removed, and when a restore begins. "" forgets every
// project.
func (f *Files) Forget(projectID string) { f.roots.forget(projectID) }

// Cached reports whether the project's folder is open in the cache (what
// Forget drops).
func (f *Files) Cached(projectID string) bool {
	r := f.roots.get(projectID)
	if r == nil {
		return false
	}
	f.roots.release(r)
	return true
}

// Create makes an empty project (its area, its volume, its files folder).
func (f *Files) Create(projectID string) (*Project, error) {
	if !validID(projectID) {
		return nil, ErrBadPath
	}
	if f.space != nil {
		if err := f.space(); err != nil {
			return nil, err
		}
	}
	f.Forget(projectID) // a folder of that name opened before is not this one
	if err := os.Mkdir(f.Area(projectID), 0o750); err != nil {
		return nil, mapErr(err)
	}
	if f.vol != nil {
		if err := f.vol.Attach(f.Area(projectID), projectID); err != nil {
			os.Remove(f.Area(projectID)) // refused (no room for its volume): leave nothing
			return nil, err
		}
	}
	if err := os.Mkdir(f.Dir(projectID), 0o755); err != nil {
		return nil, mapErr(err)
	}
	return f.Project(projectID)
}

// WriteFile writes one file of a project atomically (see Project.WriteFile).
func (f *Files) WriteFile(projectID, name string, data []byte) error {
	p, err := f.Project(projectID)
	if err != nil {
		return err
	}
	defer p.Close()
	_, err = p.WriteFile(name, bytes.NewReader(data), int64(len(data)))
	return err
}

// Remove deletes a project's files. It first renames the directory aside so
// that a half-finished removal never looks like a project.
func (f *Files) Remove(projectID string) error {
	if !validID(projectID) {
		return ErrBadPath
	}
	f.Forget(projectID) // its descriptor would keep the volume busy
	if f.vol != nil {
		if err := f.vol.Remove(f.Area(projectID), projectID); err != nil {
			return err
		}
	}
	trash := filepath.Join(f.dir, ".trash-"+projectID)
	if err := os.Rename(f.Area(projectID), trash); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return os.RemoveAll(trash)
}

func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Project is one project's files.
type Project struct {
	root   *os.Root
	shared *sharedRoot  // root's owner, shared through files' cache
	files  *Files       // whose cache shared belongs to
	space  func() error // asked before an upload (nil: no check)
}

// Close releases the project's root.
func (p *Project) Close() error {
	if p.shared != nil {
		p.files.roots.release(p.shared)
		p.shared = nil
	}
	return nil
}

// CleanPath checks a client-supplied path and returns it in canonical form
// ("" is the project root). Absolute paths, "..", NUL and backslashes are refused.
func CleanPath(p string) (string, error) {
	if strings.ContainsAny(p, "\x00\\") || strings.HasPrefix(p, "/") || len(p) > 4096 {
		return "", ErrBadPath
	}
	canonical, long := p != "", false // canonical: no empty or "." part, so path.Clean keeps p
	for rest, more := p, true; more; {
		var part string
		part, rest, more = strings.Cut(rest, "/")
		switch part {
		case "..":
			return "", ErrBadPath
		case "", ".":
			canonical = false
		}
		long = long || len(part) > 255
	}
	if canonical {
		if long {
			return "", ErrBadPath
		}
		return p, nil
	}
	c := path.Clean("/" + p)[1:]
	for _, part := range strings.Split(c, "/") {
		if len(part) > 255 {
			return "", ErrBadPath
		}
	}
	return c, nil
}

func (p *Project) clean(name string, allowRoot bool) (string, error) {
	c, err := CleanPath(name)
	if err != nil {
		return "", err
	}
	if c == "" {
		if !allowRoot {
			return "", ErrBadPath
		}
		return ".", nil
	}
	return c, nil
}

// mapErr turns os and os.Root errors into this package's errors.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return ErrNotExist
	case errors.Is(err, fs.ErrExist):
		return ErrExists
	case strings.Contains(err.Error(), "escapes from parent"), strings.Contains(err.Error(), "not a directory"):
		return fmt.Errorf("%w: %v", ErrBadPath, err)
	}
	return err
}

// limitedCopy copies at most limit bytes, failing with ErrTooLarge past it.
func limitedCopy(dst io.Writer, src io.Reader, limit int64) (int64, error) {
	n, err := io.Copy(dst, io.LimitReader(src, limit+1))
	if err != nil {
		return n, err
	}
	if n > limit {
		return n, ErrTooLarge
	}
	return n, nil
}
