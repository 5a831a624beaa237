package checkpoint

import (
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// The plan of a restore, and change tracking carried across it.

// pairLoader flattens a wanted tree beside the current one, leaving out
// the contents of directories keep accepts (they stay as they are).
type pairLoader struct {
	want, cur *loader
	keep      func(rel string, w, c Entry) bool
}

// flatten lists the entries below want and cur (either may be "") by path.
func (p pairLoader) flatten(want, cur Hash, prefix string, wOut, cOut map[string]Entry) error {
	var ws, cs []Entry
	var err error
	if want != "" {
		if ws, err = p.want.tree(want); err != nil {
			return err
		}
	}
	if cur != "" {
		if cs, err = p.cur.tree(cur); err != nil {
			return err
		}
	}
	curBy := make(map[string]Entry, len(cs))
	for _, c := range cs {
		curBy[c.Name] = c
	}
	for _, w := range ws {
		if !validName(w.Name) {
			return fmt.Errorf("tree %s: bad name %q", want, w.Name)
		}
		rel := path.Join(prefix, w.Name)
		wOut[rel] = w
		c, ok := curBy[w.Name]
		delete(curBy, w.Name)
		if ok {
			cOut[rel] = c
		}
		if w.Type != TypeDir {
			if ok && c.Type == TypeDir {
				if err := p.cur.flatten(c.Hash, rel, cOut); err != nil {
					return err
				}
			}
			continue
		}
		if ok && p.keep(rel, w, c) {
			continue
		}
		var sub Hash
		if ok && c.Type == TypeDir {
			sub = c.Hash
		}
		if err := p.flatten(w.Hash, sub, rel, wOut, cOut); err != nil {
			return err
		}
	}
	for _, c := range curBy { // only in the current tree
		rel := path.Join(prefix, c.Name)
		cOut[rel] = c
		if c.Type == TypeDir {
			if err := p.cur.flatten(c.Hash, rel, cOut); err != nil {
				return err
			}
		}
	}
	return nil
}

// dirNodes maps the directories below n by path.
func dirNodes(n *node, out map[string]*node) map[string]*node {
	if n == nil {
		return out
	}
	out[n.rel] = n
	for _, c := range n.children {
		if c.entry.Type == TypeDir {
			dirNodes(c, out)
		}
	}
	return out
}

// keptEntries returns the stat cache entries of the present tree's files
// outside curFlat (which lists everything but the directories moved whole):
// the files that stay as they are. Their content is the checkpoint's, so it
// is in the object store.
func keptEntries(cur *index, curFlat map[string]Entry) map[string]indexEntry {
	files := maps.Clone(cur.Files)
	for rel, e := range curFlat {
		if e.Type == TypeFile {
			delete(files, rel)
		}
	}
	for rel, e := range files {
		if !e.Written {
			e.Written = true
			files[rel] = e
		}
	}
	return files
}

// keptDirs maps the directories moved whole into the new tree to their
// nodes in the scan of the old one.
func keptDirs(moved []string, want map[string]Entry, curDirs map[string]*node) map[string]*node {
	kept := map[string]*node{}
	for _, rel := range moved {
		if want[rel].Type == TypeDir && curDirs[rel] != nil {
			kept[rel] = curDirs[rel]
		}
	}
	return kept
}

// trackCarry carries a project's change tracking across a restore. The
// directories moved whole into the new tree keep their watches (a watch
// follows the inode, and they keep their paths); the old tree's other
// watches are dropped before anything moves; the directories the restore
// creates are watched before the exchange and marked changed, so the next
// scan reads them (and only them) once.
type trackCarry struct {
	w    *watcher
	t    *tracked
	kept map[string]*node
	ok   bool // every new directory is watched
	done bool // the new tree is tracked
}

func (w *watcher) beginCarry(t *tracked, kept map[string]*node) *trackCarry {
	w.mu.Lock()
	defer w.mu.Unlock()
	for rel, wd := range t.wds {
		if !underKept(rel, kept) {
			unix.InotifyRmWatch(w.fd, uint32(wd))
			delete(w.wds, wd)
			delete(t.wds, rel)
		}
	}
	return &trackCarry{w: w, t: t, kept: kept, ok: true}
}

func underKept(rel string, kept map[string]*node) bool {
	for ; rel != ""; rel = parentRel(rel) {
		if kept[rel] != nil {
			return true
		}
	}
	return false
}

// watchNew watches the directories rels the restore created in stage.
func (c *trackCarry) watchNew(stage string, rels []string) {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	for _, rel := range rels {
		wd, err := unix.InotifyAddWatch(c.w.fd, filepath.Join(stage, filepath.FromSlash(rel)), watchMask)
		if err != nil {
			c.ok = false
			return
		}
		c.w.wds[int32(wd)] = watchDir{t: c.t, rel: rel}
		c.t.wds[rel] = int32(wd)
		c.t.shallow[rel] = true
	}
}

// commit makes the restored tree the tracked state: the checkpoint's
// entries, with the directories moved whole taken from the old scan (their
// trees are the checkpoint's), and the stat cache the restore wrote.
func (c *trackCarry) commit(projectDir string, manifest Hash, want map[string]Entry, j journal, ix *index) {
	if !c.ok || ix == nil {
		return
	}
	fi, err := os.Stat(projectDir)
	if err != nil {
		return
	}
	ignored := map[string][]string{} // carried over by finish, by parent
	for _, rel := range j.Ignored {
		if _, err := os.Lstat(filepath.Join(projectDir, filepath.FromSlash(rel))); err == nil {
			ignored[parentRel(rel)] = append(ignored[parentRel(rel)], rel)
		}
	}
	byParent := map[string][]string{}
	for rel := range want {
		byParent[parentRel(rel)] = append(byParent[parentRel(rel)], rel)
	}
	var build func(n *node)
	build = func(n *node) {
		for _, rel := range byParent[n.rel] {
			e := want[rel]
			if k := c.kept[rel]; k != nil {
				n.children = append(n.children, k)
				n.files += k.files
				n.bytes += k.bytes
				continue
			}
			ch := &node{rel: rel, entry: e}
			switch e.Type {
			case TypeDir:
				ch.tree, ch.ignored = e.Hash, ignored[rel]
				build(ch)
				n.files += ch.files
				n.bytes += ch.bytes
			case TypeFile:
				n.files++
				n.bytes += e.Size
			}
			n.children = append(n.children, ch)
		}
	}
	root := &node{tree: manifest, ignored: ignored[""]}
	build(root)
	st := fi.Sys().(*syscall.Stat_t)
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	t := c.t
	t.ino, t.dev = st.Ino, st.Dev
	t.root, t.rootHash = root, manifest
	t.index = ix
	c.done = true
}
