package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// The operations of a restore, planned, staged and applied.

// Kinds of op.
const (
	opRemove = "remove" // move Path out of the project (into the stage's trash)
	opPut    = "put"    // rename the staged Src to Path (replacing a file there)
	opChmod  = "chmod"  // set the mode (and owner) of the directory Path
)

// op is one step of applying a restore. Each can be applied again after a
// crash: a remove whose path is gone, a put whose path already holds the
// staged inode, a chmod, all count as done.
type op struct {
	Kind     string `json:"k"`
	Path     string `json:"p"`
	Src      string `json:"s,omitempty"`
	Dev      uint64 `json:"d,omitempty"`
	Ino      uint64 `json:"i,omitempty"`
	Mode     uint32 `json:"m,omitempty"`
	Uid, Gid int    `json:",omitempty"` // chmod as root: chown too (Uid > 0 or Gid > 0)
}

// apply performs o. Paths in the project are reached through directory
// handles opened without following any symbolic link (beneath): processes
// in the sandbox keep running during a restore, and one that swaps a folder
// for a link must not lead the server (maybe root) outside the project.
func (o op) apply(projectDir, stage string, i int) error {
	base := path.Base(o.Path)
	switch o.Kind {
	case opRemove:
		pfd, err := beneath(projectDir, parentRel(o.Path), unix.O_PATH)
		if errors.Is(err, unix.ENOENT) {
			return nil // removed already, with its folder
		}
		if err != nil {
			return fmt.Errorf("%s: %w", o.Path, err)
		}
		defer unix.Close(pfd)
		var st unix.Stat_t
		err = unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
		if errors.Is(err, unix.ENOENT) || err == nil && (st.Ino != o.Ino || st.Dev != o.Dev) {
			return nil // removed already (and maybe something put in its place)
		}
		if err != nil {
			return err
		}
		return unix.Renameat(pfd, base, unix.AT_FDCWD, filepath.Join(stage, "trash", strconv.Itoa(i)))
	case opPut:
		pfd, err := beneath(projectDir, parentRel(o.Path), unix.O_PATH)
		if err != nil {
			return fmt.Errorf("%s: %w", o.Path, err)
		}
		defer unix.Close(pfd)
		err = unix.Renameat(unix.AT_FDCWD, filepath.Join(stage, filepath.FromSlash(o.Src)), pfd, base)
		if errors.Is(err, unix.ENOENT) {
			var st unix.Stat_t
			if unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Ino == o.Ino && st.Dev == o.Dev {
				return nil // in place already
			}
			return fmt.Errorf("%s: the staged entry is lost", o.Path)
		}
		return err
	case opChmod:
		fd, err := beneath(projectDir, o.Path, unix.O_RDONLY)
		if err != nil {
			return fmt.Errorf("%s: %w", o.Path, err)
		}
		defer unix.Close(fd)
		if o.Uid > 0 || o.Gid > 0 {
			if err := unix.Fchown(fd, o.Uid, o.Gid); err != nil {
				return err
			}
		}
		return unix.Fchmod(fd, o.Mode&0o7777)
	}
	return fmt.Errorf("unknown operation %q", o.Kind)
}

// beneath opens the directory rel ("" for the top) of root, refusing any
// symbolic link on the way (openat2 RESOLVE_NO_SYMLINKS, RESOLVE_BENEATH).
func beneath(root, rel string, flags int) (int, error) {
	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(rfd)
	if rel == "" {
		rel = "."
	}
	how := unix.OpenHow{Flags: uint64(flags | unix.O_DIRECTORY | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
	return unix.Openat2(rfd, filepath.FromSlash(rel), &how)
}

// planner works out and stages a restore.
type planner struct {
	r        *Repo
	ctx      context.Context
	dir      string
	stage    string
	own      owner
	progress func(Progress)

	want, cur map[string]Entry      // the checkpoint's and the present's entries, less what stays as it is
	curIndex  map[string]indexEntry // the present's stat cache
	curDirs   map[string]*node
	creates   []create // what to build in the stage, parents first
	ops       []op
	staged    map[string]indexEntry // stat cache entries of the staged files

	files, written, reused int
}

// create is one entry to build in the stage.
type create struct {
	rel string // in the project
	dst string // in the stage
	e   Entry
	top bool // put into place itself (not inside a staged directory)
}

// plan compares the checkpoint's tree with the present one.
func (p *planner) plan(manifest, curRoot Hash, cur *scan) error {
	keep := func(rel string, w, c Entry) bool {
		return w.Type == TypeDir && c.Type == TypeDir && w.Hash == c.Hash && w.Mode == c.Mode && ownerOK(p.dir, p.own, rel)
	}
	p.want, p.cur = map[string]Entry{}, map[string]Entry{}
	pair := pairLoader{want: &loader{ctx: p.ctx, objects: p.r.objects}, cur: &loader{ctx: p.ctx, objects: p.r.objects, mem: cur.trees}, keep: keep}
	if err := pair.flatten(manifest, curRoot, "", p.want, p.cur); err != nil {
		return fmt.Errorf("read manifest: %w", err)
	}
	p.curDirs = dirNodes(cur.rootNode, map[string]*node{})
	p.curIndex = cur.now.Files
	var removes, puts, chmods []op
	removed := map[string]bool{}
	stagedAt := map[string]string{} // directories put whole → their place in the stage
	n := 0
	for _, rel := range sortedKeys(p.want) {
		w := p.want[rel]
		if w.Type == TypeFile {
			p.files++
		}
		if base, ok := stagedAncestor(rel, stagedAt); ok {
			p.creates = append(p.creates, create{rel: rel, dst: stagedAt[base] + "/" + rel[len(base)+1:], e: w})
			continue
		}
		c, has := p.cur[rel]
		if w.Type == TypeDir && has && c.Type == TypeDir {
			if keep(rel, w, c) {
				p.reused++
				if d := p.curDirs[rel]; d != nil {
					p.files += d.files
				}
			} else if w.Mode != c.Mode || !ownerOK(p.dir, p.own, rel) {
				o := op{Kind: opChmod, Path: rel, Mode: w.Mode}
				if p.own.root {
					o.Uid, o.Gid = p.own.uid, p.own.gid
				}
				chmods = append(chmods, o)
			}
			continue // its entries are compared one by one
		}
		if has && c.Type == w.Type && c.Hash == w.Hash && c.Mode == w.Mode && c.Target == w.Target && ownerOK(p.dir, p.own, rel) {
			continue // the same file or link
		}
		if has && (c.Type == TypeDir || w.Type == TypeDir) || !has && p.exists(rel) {
			// A rename replaces a file with a file only; and what the scan
			// left out (an ignored entry, a virtual environment) makes way.
			removes = append(removes, op{Kind: opRemove, Path: rel})
			removed[rel] = true
		}
		n++
		src := "o/" + strconv.Itoa(n)
		if w.Type == TypeDir {
			stagedAt[rel] = src
		}
		p.creates = append(p.creates, create{rel: rel, dst: src, e: w, top: true})
		puts = append(puts, op{Kind: opPut, Path: rel, Src: src})
	}
	for _, rel := range sortedKeys(p.cur) {
		if _, ok := p.want[rel]; ok || underAny(rel, removed) {
			continue
		}
		removes = append(removes, op{Kind: opRemove, Path: rel})
		removed[rel] = true
	}
	slices.SortFunc(chmods, func(a, b op) int { return -pathCompare(a.Path, b.Path) }) // contents first
	p.ops = slices.Concat(removes, puts, chmods)
	return nil
}

// prune deletes what the plan removes from the project (what the checkpoint
// replaces or does not have), through an os.Root so that a path a sandboxed
// process swapped for a link cannot lead outside, then syncs the file system.
func (p *planner) prune() error {
	root, err := os.OpenRoot(p.dir)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, o := range p.ops {
		if o.Kind != opRemove {
			continue
		}
		if err := root.RemoveAll(filepath.FromSlash(o.Path)); err != nil {
			return err
		}
	}
	d, err := os.Open(p.dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return unix.Syncfs(int(d.Fd()))
}

// exists reports whether something is at rel in the project.
func (p *planner) exists(rel string) bool {
	_, err := os.Lstat(filepath.Join(p.dir, filepath.FromSlash(rel)))
	return err == nil
}

// stagedAncestor finds the nearest ancestor of rel that is put whole.
func stagedAncestor(rel string, stagedAt map[string]string) (string, bool) {
	for d := parentRel(rel); d != ""; d = parentRel(d) {
		if _, ok := stagedAt[d]; ok {
			return d, true
		}
	}
	return "", false
}

// underAny reports whether an ancestor of rel is in set.
func underAny(rel string, set map[string]bool) bool {
	for d := parentRel(rel); d != ""; d = parentRel(d) {
		if set[d] {
			return true
		}
	}
	return false
}

// stageAll builds every new entry in the stage: files are linked from
// present files that go away (each such inode at most once: two names for
// one inode would make a write to one change the other) or written from
// the object store, then synced; the puts learn their staged inodes.
func (p *planner) stageAll() error {
	for _, d := range []string{"o", "trash"} {
		if err := os.MkdirAll(filepath.Join(p.stage, d), 0o700); err != nil {
			return err
		}
	}
	sources := map[Hash]string{} // content+mode → a present file that is removed or replaced
	for rel, c := range p.cur {
		if w, ok := p.want[rel]; c.Type == TypeFile && (!ok || w.Type != TypeFile || w.Hash != c.Hash || w.Mode != c.Mode) && ownerOK(p.dir, p.own, rel) {
			sources[c.Hash+Hash(fmt.Sprintf(":%o", c.Mode))] = rel
		}
	}
	p.staged = map[string]indexEntry{}
	var written []string
	var dirs []create
	for _, c := range p.creates {
		if err := p.ctx.Err(); err != nil {
			return err
		}
		dst := filepath.Join(p.stage, filepath.FromSlash(c.dst))
		linked := false
		switch c.e.Type {
		case TypeDir:
			if err := os.Mkdir(dst, 0o700); err != nil {
				return err
			}
			dirs = append(dirs, c)
		case TypeSymlink:
			if err := os.Symlink(c.e.Target, dst); err != nil {
				return err
			}
		case TypeFile:
			key := c.e.Hash + Hash(fmt.Sprintf(":%o", c.e.Mode))
			if src, ok := sources[key]; ok {
				delete(sources, key)
				linked = p.link(src, dst)
			}
			if !linked {
				if err := p.r.writeFile(p.ctx, dst, c.e); err != nil {
					return fmt.Errorf("%s: %w", c.rel, err)
				}
				written = append(written, dst)
				p.written++
			}
		default:
			return fmt.Errorf("%s: unknown entry type %q", c.rel, c.e.Type)
		}
		if err := p.own.chown(dst); err != nil {
			return err
		}
		if c.e.Type == TypeFile {
			fi, err := os.Lstat(dst)
			if err != nil {
				return err
			}
			k := statKey(fi)
			// A rename changes the ctime of what it moves, removing a linked
			// file's other name changes it too: take those again at the end.
			k.Hash, k.Written, k.Restat = c.e.Hash, true, c.top || linked
			p.staged[c.rel] = k
			if p.progress != nil && len(p.staged)%64 == 0 {
				p.progress(Progress{Phase: "restore", Done: len(p.staged), Total: p.files})
			}
		}
		hook("stage " + c.rel)
	}
	for i := len(dirs) - 1; i >= 0; i-- { // modes last: a read-only directory is filled first
		if err := os.Chmod(filepath.Join(p.stage, filepath.FromSlash(dirs[i].dst)), fileMode(dirs[i].e.Mode)); err != nil {
			return err
		}
	}
	// Durable before the commit: the files written (in parallel, so the
	// file system's journal commits them together) and the stage's entries
	// (linked files were on disk already; ext4 and xfs log metadata in order).
	if err := syncFiles(written); err != nil {
		return err
	}
	if err := syncDir(filepath.Join(p.stage, "o")); err != nil {
		return err
	}
	if p.progress != nil {
		p.progress(Progress{Phase: "restore", Done: p.files, Total: p.files})
	}
	// Each operation learns the inode it moves, so that applying it again
	// after a crash can tell whether it has happened.
	for i := range p.ops {
		o := &p.ops[i]
		var at string
		switch o.Kind {
		case opPut:
			at = filepath.Join(p.stage, filepath.FromSlash(o.Src))
		case opRemove:
			at = filepath.Join(p.dir, filepath.FromSlash(o.Path))
		default:
			continue
		}
		fi, err := os.Lstat(at)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		o.Dev, o.Ino = st.Dev, st.Ino
	}
	return nil
}

// link makes dst a hard link of the present file src, if src is still the
// file the scan hashed (same inode and size as in its stat cache), reached
// without following links.
func (p *planner) link(src, dst string) bool {
	e, ok := p.curIndex[src]
	if !ok {
		return false
	}
	pfd, err := beneath(p.dir, parentRel(src), unix.O_PATH)
	if err != nil {
		return false
	}
	defer unix.Close(pfd)
	if unix.Linkat(pfd, path.Base(src), unix.AT_FDCWD, dst, 0) != nil {
		return false
	}
	var st unix.Stat_t
	if unix.Lstat(dst, &st) != nil || st.Ino != e.Ino || st.Dev != e.Dev || st.Size != e.Size {
		os.Remove(dst)
		return false
	}
	return true
}

// newIndex is the stat cache of the restored tree: the present one's
// entries of files that stay as they are (their content is the
// checkpoint's, so it is in the object store), and the staged files'.
func (p *planner) newIndex(cur *index) *index {
	files := maps.Clone(cur.Files)
	for rel, c := range p.cur {
		if w, ok := p.want[rel]; c.Type == TypeFile && (!ok || w.Type != TypeFile || w.Hash != c.Hash || w.Mode != c.Mode) {
			delete(files, rel)
		}
	}
	for rel, e := range files {
		if !e.Written {
			e.Written = true
			files[rel] = e
		}
	}
	maps.Copy(files, p.staged)
	return &index{Version: 1, Files: files}
}
