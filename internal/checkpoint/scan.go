package checkpoint

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// node is a scanned file system entry.
type node struct {
	rel      string
	entry    Entry
	stat     indexEntry
	children []*node

	// Directories, once buildTrees has run: the tree's hash and the files
	// and bytes below. A node with tree set is reused as is by the next
	// tracked scan when nothing below it changed.
	tree  Hash
	files int
	bytes int64

	ignored []string // directories: ignored entries that exist (restore carries them over)
}

// scan is one walk of a project directory.
type scan struct {
	ctx      context.Context
	root     string
	objects  ObjectStore // nil: hash only, store nothing
	ignore   *Ignore
	old      *index
	now      *index
	start    time.Time
	progress func(Progress)
	phase    string

	files   []*node  // files to hash (all of them, or those a tracked scan re-read)
	dir     *os.Root // the project, while files are hashed
	ignored []string // ignored paths that exist, once the walk is done

	// A tracked scan (see watch.go) reuses the last scan's nodes.
	track   *tracked
	watch   *watcher
	dirty   changes
	hot     map[string]bool     // dirty directories and their ancestors
	hotKids map[string][]string // hot directories by parent
	gone    []string            // files of the last scan no longer read as they were

	rootNode *node           // the result, once built
	trees    map[Hash][]byte // every tree built, by hash
	hashed   map[string]bool // paths whose content was read (not from the stat cache)
}

// Progress reports how far a long operation is.
type Progress struct {
	Phase string // "scan", "store", "restore", "database", "done"
	Done  int
	Total int
}

// walk reads the directory rel. prev is its node from the last scan when
// this is a tracked scan, or nil: then the directory and everything below
// is read.
func (s *scan) walk(rel string, prev *node) (*node, error) {
	if prev != nil {
		switch {
		case !s.hot[rel]:
			return prev, nil // nothing changed here or below
		case s.dirty.deep[rel]:
			s.drop(prev)
			prev = nil
		case !s.dirty.shallow[rel] && !s.strangers(prev):
			return s.walkBelow(prev)
		}
	}
	if s.track != nil {
		if err := s.watch.add(s.track, rel); err != nil {
			s.untrack()
		}
	}
	full := filepath.Join(s.root, filepath.FromSlash(rel))
	des, err := os.ReadDir(full)
	if err != nil {
		return nil, err
	}
	for _, de := range des {
		if de.Name() == "pyvenv.cfg" && rel != "" {
			s.drop(prev)
			return nil, nil // the caller records it as ignored
		}
	}
	var before map[string]*node
	if prev != nil {
		before = make(map[string]*node, len(prev.children))
		for _, c := range prev.children {
			before[c.entry.Name] = c
		}
	}
	n := &node{rel: rel}
	for _, de := range des {
		if err := s.ctx.Err(); err != nil {
			return nil, err
		}
		crel := path.Join(rel, de.Name())
		if s.ignore.Match(crel) {
			n.ignored = append(n.ignored, crel)
			continue
		}
		fi, err := de.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed while we walk
		}
		if err != nil {
			return nil, err
		}
		c := &node{rel: crel, stat: statKey(fi)}
		c.entry = Entry{Name: de.Name(), Mode: permBits(fi.Mode())}
		switch {
		case fi.Mode().IsRegular():
			c.entry.Type = TypeFile
			c.entry.Size = fi.Size()
			s.files = append(s.files, c)
		case fi.IsDir():
			pc := before[de.Name()]
			if pc != nil && pc.entry.Type == TypeDir {
				delete(before, de.Name()) // carried on by the walk below
			} else {
				pc = nil
			}
			sub, err := s.walk(crel, pc)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				return nil, err
			}
			if sub == nil {
				n.ignored = append(n.ignored, crel) // a virtual environment
				continue
			}
			if sub == pc && pc.entry.Mode == c.entry.Mode {
				c = pc
				break
			}
			c.children = sub.children
			c.entry.Type = TypeDir
		case fi.Mode()&fs.ModeSymlink != 0:
			t, err := os.Readlink(filepath.Join(full, de.Name()))
			if err != nil {
				return nil, err
			}
			c.entry.Type = TypeSymlink
			c.entry.Mode = 0o777
			c.entry.Target = t
		default:
			continue // sockets, pipes, devices are not project content
		}
		n.children = append(n.children, c)
	}
	for _, c := range before {
		s.drop(c) // files are read again; directories gone or replaced
	}
	return n, nil
}

// walkBelow rebuilds a directory whose own entries did not change but
// something below did.
func (s *scan) walkBelow(prev *node) (*node, error) {
	n := &node{rel: prev.rel, ignored: prev.ignored}
	for _, c := range prev.children {
		if c.entry.Type == TypeDir {
			sub, err := s.walk(c.rel, c)
			if errors.Is(err, fs.ErrNotExist) {
				s.drop(c) // removed while we walk
				continue
			}
			if err != nil {
				return nil, err
			}
			if sub == nil {
				s.drop(c)
				n.ignored = append(n.ignored, c.rel) // became a virtual environment
				continue
			}
			if sub != c {
				nc := &node{rel: c.rel, entry: c.entry, stat: c.stat, children: sub.children}
				nc.entry.Hash = ""
				c = nc
			}
		}
		n.children = append(n.children, c)
	}
	return n, nil
}

// strangers reports whether a changed directory right below prev is not
// one of its children in the last scan (it was a virtual environment then,
// so only reading prev again can tell what it is now).
func (s *scan) strangers(prev *node) bool {
	for _, rel := range s.hotKids[prev.rel] {
		name := path.Base(rel)
		if !slices.ContainsFunc(prev.children, func(c *node) bool { return c.entry.Name == name && c.entry.Type == TypeDir }) {
			return true
		}
	}
	return false
}

// collectIgnored lists the ignored paths below n.
func collectIgnored(n *node, out []string) []string {
	out = append(out, n.ignored...)
	for _, c := range n.children {
		if c.entry.Type == TypeDir {
			out = collectIgnored(c, out)
		}
	}
	return out
}

// drop records that the files of the last scan's node n (and below) are no
// longer known as they were: their stat cache entries go.
func (s *scan) drop(n *node) {
	if n == nil || s.track == nil {
		return
	}
	switch n.entry.Type {
	case TypeFile:
		s.gone = append(s.gone, n.rel)
	case TypeDir, "":
		for _, c := range n.children {
			s.drop(c)
		}
	}
}

// untrack gives up tracking for this scan (a watch could not be added): the
// next Create scans in full.
func (s *scan) untrack() {
	s.watch.breakOff(s.track)
	s.track = nil
}

// racyWindow: files changed this close to the scan are not trusted to the
// stat cache (a later change within the same timestamp tick would be missed).
var racyWindow = 2 * time.Second

// hashWorkers read and store files in parallel (storing waits on fsync).
const hashWorkers = 8

func (s *scan) hashFiles() error {
	hook("scanned")
	// Files are opened through an os.Root: a process in the sandbox that
	// swaps a folder for a symbolic link while we scan cannot make us read
	// (and store, and show) a file outside the project.
	dir, err := os.OpenRoot(s.root)
	if err != nil {
		return err
	}
	defer dir.Close()
	s.dir = dir
	cut := s.start.Add(-racyWindow).UnixNano()
	trust := false // reused objects are known to be present
	if ep, ok := s.objects.(epocher); ok {
		if e, err := ep.Epoch(); err == nil && e != "" {
			trust = e == s.old.Epoch
			s.now.Epoch = e
		}
	}
	var (
		mu    sync.Mutex
		done  int
		first error
	)
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	jobs := make(chan *node)
	var wg sync.WaitGroup
	one := func(f *node) error {
		if old, ok := s.old.Files[f.rel]; ok && sameStat(old, f.stat) && (s.objects == nil || old.Written) {
			present := true
			if s.objects != nil && !trust { // the blob may have been collected since
				var err error
				if present, err = s.objects.Has(ctx, old.Hash); err != nil {
					return err
				}
			}
			if present {
				f.entry.Hash = old.Hash
				mu.Lock()
				s.now.Files[f.rel] = old
				mu.Unlock()
				return nil
			}
		}
		h, err := s.hashFile(ctx, f)
		if errors.Is(err, fs.ErrNotExist) {
			f.entry.Type = "" // vanished: dropped from the tree
			return nil
		}
		if err != nil {
			return err
		}
		f.entry.Hash = h
		mu.Lock()
		defer mu.Unlock()
		s.hashed[f.rel] = true
		if f.stat.Mtime < cut && f.stat.Ctime < cut {
			e := f.stat
			e.Hash, e.Written = h, s.objects != nil
			s.now.Files[f.rel] = e
		}
		return nil
	}
	for range hashWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range jobs {
				err := one(f)
				mu.Lock()
				if err != nil && first == nil {
					first = err
					cancel()
				}
				done++
				if s.progress != nil && done%64 == 0 {
					s.progress(Progress{Phase: s.phase, Done: done, Total: len(s.files)})
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, f := range s.files {
		select {
		case jobs <- f:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if first == nil {
		first = s.ctx.Err()
	}
	if first != nil {
		return first
	}
	if s.progress != nil {
		s.progress(Progress{Phase: s.phase, Done: len(s.files), Total: len(s.files)})
	}
	return nil
}

func (s *scan) hashFile(ctx context.Context, f *node) (Hash, error) {
	fh, err := s.dir.Open(filepath.FromSlash(f.rel))
	if err != nil {
		return "", err
	}
	defer fh.Close()
	var h Hash
	if s.objects != nil {
		h, err = s.objects.Put(ctx, fh)
	} else {
		hw := sha256.New()
		_, err = io.Copy(hw, fh)
		h = Hash(hex.EncodeToString(hw.Sum(nil)))
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", f.rel, err)
	}
	// The content read is what the hash names; the size is taken from it too.
	if fi, err := fh.Stat(); err == nil {
		f.entry.Size = fi.Size()
	}
	return h, nil
}

// buildTrees computes (and stores, unless hash-only) the tree of n, and
// the files and bytes below it. Nodes reused from the last scan keep theirs.
func (s *scan) buildTrees(n *node) (Hash, error) {
	if n.tree != "" {
		return n.tree, nil
	}
	var es []Entry
	n.files, n.bytes = 0, 0
	for _, c := range n.children {
		switch c.entry.Type {
		case "":
			continue
		case TypeDir:
			h, err := s.buildTrees(c)
			if err != nil {
				return "", err
			}
			c.entry.Hash = h
			n.files += c.files
			n.bytes += c.bytes
		case TypeFile:
			n.files++
			n.bytes += c.entry.Size
		}
		es = append(es, c.entry)
	}
	if es == nil {
		es = []Entry{}
	}
	b := encodeTree(es)
	h := hashBytes(b)
	s.trees[h] = b
	if s.objects != nil {
		if _, err := putBytes(s.ctx, s.objects, b); err != nil {
			return "", err
		}
	}
	n.tree = h
	return h, nil
}

func newScan(ctx context.Context, root string, objects ObjectStore, ig *Ignore, old *index, progress func(Progress)) *scan {
	s := &scan{ctx: ctx, root: root, objects: objects, ignore: ig, old: old, now: &index{Version: 1, Files: map[string]indexEntry{}},
		start: time.Now(), progress: progress, phase: "scan", trees: map[Hash][]byte{}, hashed: map[string]bool{}}
	if old == nil {
		s.old = &index{Files: map[string]indexEntry{}}
	}
	return s
}

// scanDir walks root in full and returns its manifest hash. With objects
// set, file contents and trees are stored; otherwise only hashed.
func scanDir(ctx context.Context, root string, objects ObjectStore, ig *Ignore, old *index, progress func(Progress)) (*scan, Hash, error) {
	s := newScan(ctx, root, objects, ig, old, progress)
	n, err := s.walk("", nil)
	if err != nil {
		return nil, "", err
	}
	if err := s.hashFiles(); err != nil {
		return nil, "", err
	}
	h, err := s.buildTrees(n)
	s.rootNode, s.ignored = n, collectIgnored(n, nil)
	return s, h, err
}
