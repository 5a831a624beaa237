package workspace

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"syscall"
	"time"
)

// Entry is a node of the file tree.
type Entry struct {
	Name     string    `json:"name"`
	Path     string    `json:"path"`
	Type     string    `json:"type"` // "file", "dir" or "symlink"
	Size     int64     `json:"size,omitempty"`
	MTime    time.Time `json:"mtime"`
	Children []*Entry  `json:"children,omitempty"`
}

// maxTreeEntries bounds the tree answer for huge projects.
const maxTreeEntries = 20000

// Tree lists the project, folders first then by name. Temporary files of
// in-flight writes and the .ecode folder (the platform's own: the project's
// database, install stamps) are left out; they stay readable by path.
func (p *Project) Tree() (*Entry, error) {
	top := &Entry{Name: "", Path: "", Type: "dir", Children: []*Entry{}}
	dirs := map[string]*Entry{".": top}
	count := 0
	err := fs.WalkDir(p.root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name == "." {
			return nil
		}
		if isTemp(d.Name()) || name == ".ecode" {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if count++; count > maxTreeEntries {
			return fs.SkipAll
		}
		info, err := d.Info()
		if err != nil {
			return nil // vanished while walking
		}
		e := &Entry{Name: d.Name(), Path: name, MTime: info.ModTime().UTC()}
		switch {
		case d.IsDir():
			e.Type, e.Children = "dir", []*Entry{}
			dirs[name] = e
		case d.Type()&fs.ModeSymlink != 0:
			e.Type = "symlink"
		default:
			e.Type, e.Size = "file", info.Size()
		}
		parent := dirs[path.Dir(name)]
		parent.Children = append(parent.Children, e)
		return nil
	})
	if err != nil {
		return nil, mapErr(err)
	}
	sortTree(top)
	return top, nil
}

func sortTree(e *Entry) {
	sort.Slice(e.Children, func(i, j int) bool {
		a, b := e.Children[i], e.Children[j]
		if (a.Type == "dir") != (b.Type == "dir") {
			return a.Type == "dir"
		}
		return a.Name < b.Name
	})
	for _, c := range e.Children {
		if c.Type == "dir" {
			sortTree(c)
		}
	}
}

// Open opens a file for reading. Symlinks are followed only within the project.
func (p *Project) Open(name string) (*os.File, fs.FileInfo, error) {
	c, err := p.clean(name, false)
	if err != nil {
		return nil, nil, err
	}
	if p.shared == nil {
		return nil, nil, os.ErrClosed
	}
	f, err := p.shared.openBeneath(c)
	if err == errNoOpenat2 {
		f, err = p.root.Open(c)
	}
	if err != nil {
		return nil, nil, mapErr(err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if info.IsDir() {
		f.Close()
		return nil, nil, ErrIsDir
	}
	return f, info, nil
}

// ReadFile returns a whole file, at most limit bytes.
func (p *Project) ReadFile(name string, limit int64) ([]byte, error) {
	f, _, err := p.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var b writerBuf
	if _, err := limitedCopy(&b, f, limit); err != nil {
		return nil, err
	}
	return b, nil
}

type writerBuf []byte

func (w *writerBuf) Write(b []byte) (int, error) { *w = append(*w, b...); return len(b), nil }

// WriteFile writes r to name atomically: into a temporary file beside it,
// synced, then renamed over it. Parent folders are created. More than limit
// bytes gives ErrTooLarge and leaves the old content in place.
func (p *Project) WriteFile(name string, r io.Reader, limit int64) (fs.FileInfo, error) {
	c, err := p.clean(name, false)
	if err != nil {
		return nil, err
	}
	if info, err := p.root.Lstat(c); err == nil && info.IsDir() {
		return nil, ErrIsDir
	}
	if err := p.mkdirAll(path.Dir(c)); err != nil {
		return nil, err
	}
	tmp, err := p.writeTemp(path.Dir(c), r, limit)
	if err != nil {
		return nil, err
	}
	if err := p.root.Rename(tmp, c); err != nil {
		p.root.Remove(tmp)
		return nil, mapErr(err)
	}
	info, err := p.root.Stat(c)
	return info, mapErr(err)
}

// writeTemp writes r to a new temporary file in dir and returns its name.
func (p *Project) writeTemp(dir string, r io.Reader, limit int64) (string, error) {
	tmp := path.Join(dir, tempName())
	f, err := p.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", mapErr(err)
	}
	if uid, gid, ok := p.owner(); ok {
		err = f.Chown(uid, gid)
	}
	if err == nil {
		_, err = limitedCopy(f, r, limit)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		p.root.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

const tempPrefix = ".ecode-tmp-"

func tempName() string {
	b := make([]byte, 8)
	rand.Read(b)
	return tempPrefix + hex.EncodeToString(b)
}

func isTemp(name string) bool {
	return len(name) > len(tempPrefix) && name[:len(tempPrefix)] == tempPrefix
}

// Remove deletes a file, or a folder with everything in it.
func (p *Project) Remove(name string) error {
	c, err := p.clean(name, false)
	if err != nil {
		return err
	}
	if _, err := p.root.Lstat(c); err != nil {
		return mapErr(err)
	}
	return mapErr(p.root.RemoveAll(c))
}

// Mkdir creates a folder and its parents. An existing file there gives ErrExists.
func (p *Project) Mkdir(name string) error {
	c, err := p.clean(name, false)
	if err != nil {
		return err
	}
	if info, err := p.root.Lstat(c); err == nil {
		if info.IsDir() {
			return nil
		}
		return ErrExists
	}
	return p.mkdirAll(c)
}

// mkdirAll creates a folder and its parents, owned like the project root.
func (p *Project) mkdirAll(dir string) error {
	if dir == "." || dir == "" {
		return nil
	}
	if err := p.root.MkdirAll(dir, 0o755); err != nil {
		return mapErr(err)
	}
	uid, gid, ok := p.owner()
	if !ok {
		return nil
	}
	for d := dir; d != "."; d = path.Dir(d) {
		info, err := p.root.Lstat(d)
		if err != nil {
			return mapErr(err)
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && int(st.Uid) == uid {
			break // this one and its parents were there already
		}
		if err := p.root.Lchown(d, uid, gid); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

// owner is the owner of the project's root folder, when files this process
// creates must be given to it: the server runs as root and the project
// belongs to its sandbox's own uid.
func (p *Project) owner() (uid, gid int, ok bool) {
	if os.Geteuid() != 0 {
		return 0, 0, false
	}
	info, err := p.root.Stat(".")
	if err != nil {
		return 0, 0, false
	}
	st, isUnix := info.Sys().(*syscall.Stat_t)
	if !isUnix || st.Uid == 0 {
		return 0, 0, false
	}
	return int(st.Uid), int(st.Gid), true
}

// Move renames a file or folder; the destination must not exist.
func (p *Project) Move(from, to string) error {
	src, err := p.clean(from, false)
	if err != nil {
		return err
	}
	dst, err := p.clean(to, false)
	if err != nil {
		return err
	}
	if _, err := p.root.Lstat(src); err != nil {
		return mapErr(err)
	}
	if _, err := p.root.Lstat(dst); err == nil {
		return ErrExists
	}
	if src == dst || isWithin(dst, src) {
		return ErrBadPath // a folder cannot move into itself
	}
	if err := p.mkdirAll(path.Dir(dst)); err != nil {
		return err
	}
	return mapErr(p.root.Rename(src, dst))
}

func isWithin(p, dir string) bool {
	return len(p) > len(dir) && p[:len(dir)] == dir && p[len(dir)] == '/'
}

// Stat describes a path.
func (p *Project) Stat(name string) (fs.FileInfo, error) {
	c, err := p.clean(name, true)
	if err != nil {
		return nil, err
	}
	info, err := p.root.Stat(c)
	return info, mapErr(err)
}
