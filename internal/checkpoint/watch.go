package checkpoint

import (
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Change tracking. A checkpoint after a small change should cost in
// proportion to the change, but a scan stats every file of the project. So
// the Repo keeps, per project directory it has scanned, the result of the
// last scan in memory and an inotify watch on each of its directories. The
// next Create reads the events the kernel queued since (synchronously: a
// write that returned before Create started has queued its event), and
// re-reads only the directories they name; every other subtree, with its
// tree hash, is taken from the last scan.
//
// Whenever the events cannot be trusted to be complete, Create falls back to
// a full scan and starts tracking afresh: the kernel's queue overflowed, a
// watch could not be added (the per-user limit), a watched directory went
// away unexpectedly, the project directory is another inode (a restore
// exchanged it), the object store's epoch moved (GC may have removed objects
// the last scan stored), or the last full scan is older than fullScanEvery.
// inotify does not see writes through shared memory mappings (mmap); the
// periodic full scan bounds how long such a change can go unnoticed.

// fullScanEvery bounds how long Create trusts tracked state.
const fullScanEvery = 10 * time.Minute

// maxTrackedDirs: projects with more directories than this are scanned in
// full each time rather than holding that many kernel watches.
const maxTrackedDirs = 20000

// maxTracked is how many project directories one Repo tracks at once; the
// least recently used is dropped beyond that.
const maxTracked = 64

const watchMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MODIFY | unix.IN_ATTRIB |
	unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF |
	unix.IN_ONLYDIR | unix.IN_DONT_FOLLOW | unix.IN_EXCL_UNLINK

// watcher is one inotify instance shared by all tracked projects of a Repo
// (instances are limited per user; watches much less so).
type watcher struct {
	mu       sync.Mutex
	fd       int // -1: inotify unavailable, or closed
	wds      map[int32]watchDir
	projects map[string]*tracked
}

type watchDir struct {
	t   *tracked
	rel string
}

// changes are what the events since the last scan say.
type changes struct {
	shallow map[string]bool // directories whose entries or files changed
	deep    map[string]bool // directories to read again with all they contain
	broken  bool            // events were lost: a full scan is needed
}

// hot returns the changed directories and all their ancestors, and the
// same by parent directory.
func (c changes) hot() (map[string]bool, map[string][]string) {
	hot := map[string]bool{"": true}
	kids := map[string][]string{}
	for _, m := range []map[string]bool{c.shallow, c.deep} {
		for rel := range m {
			for rel != "" && !hot[rel] {
				hot[rel] = true
				p := parentRel(rel)
				kids[p] = append(kids[p], rel)
				rel = p
			}
		}
	}
	return hot, kids
}

func parentRel(rel string) string {
	if p := path.Dir(rel); p != "." {
		return p
	}
	return ""
}

// tracked is what the Repo remembers of one project directory.
type tracked struct {
	dir      string
	ino, dev uint64 // of the project directory when tracking started
	wds      map[string]int32
	used     time.Time

	// Set by events (under watcher.mu), taken by Create.
	changes

	// The last scan: valid once a Create has finished with tracking on.
	root     *node
	rootHash Hash
	index    *index
	epoch    string
	fullScan time.Time
	ignore   string // the ignore patterns the state was built with
	giveUp   bool   // a watch could not be added: scan this project in full
}

func newWatcher() *watcher {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		fd = -1
	}
	return &watcher{fd: fd, wds: map[int32]watchDir{}, projects: map[string]*tracked{}}
}

func (w *watcher) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd >= 0 {
		unix.Close(w.fd)
		w.fd = -1
	}
	w.wds, w.projects = map[int32]watchDir{}, map[string]*tracked{}
}

// get returns the tracked state of dir, starting a fresh one (with broken
// set, so the first Create scans in full) when there is none or the
// directory is no longer the inode it was.
func (w *watcher) get(dir string, now time.Time) *tracked {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd < 0 {
		return nil
	}
	var ino, dev uint64
	if fi, err := os.Stat(dir); err == nil {
		st := fi.Sys().(*syscall.Stat_t)
		ino, dev = st.Ino, st.Dev
	}
	t := w.projects[dir]
	if t != nil && (t.ino != ino || t.dev != dev) {
		w.dropLocked(t)
		t = nil
	}
	if t == nil {
		if len(w.projects) >= maxTracked {
			w.evictLocked()
		}
		t = &tracked{dir: dir, ino: ino, dev: dev, wds: map[string]int32{}}
		t.changes = changes{shallow: map[string]bool{}, deep: map[string]bool{}, broken: true}
		w.projects[dir] = t
	}
	t.used = now
	if t.giveUp {
		return nil
	}
	return t
}

func (w *watcher) evictLocked() {
	var oldest *tracked
	for _, t := range w.projects {
		if oldest == nil || t.used.Before(oldest.used) {
			oldest = t
		}
	}
	if oldest != nil {
		w.dropLocked(oldest)
	}
}

// forget stops tracking dir (a restore is about to replace it).
func (w *watcher) forget(dir string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t := w.projects[filepath.Clean(dir)]; t != nil {
		w.dropLocked(t)
	}
}

func (w *watcher) dropLocked(t *tracked) {
	w.unwatchLocked(t)
	delete(w.projects, t.dir)
}

func (w *watcher) unwatchLocked(t *tracked) {
	for _, wd := range t.wds {
		unix.InotifyRmWatch(w.fd, uint32(wd))
		delete(w.wds, wd)
	}
	t.wds = map[string]int32{}
}

// reset clears t's watches and state before a full scan re-adds them.
func (w *watcher) reset(t *tracked) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.unwatchLocked(t)
	t.changes = changes{shallow: map[string]bool{}, deep: map[string]bool{}}
	t.root, t.index = nil, nil
}

// take hands over (and clears) what the events recorded for t.
func (w *watcher) take(t *tracked) changes {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := t.changes
	t.changes = changes{shallow: map[string]bool{}, deep: map[string]bool{}}
	return c
}

// breakOff makes the next Create of t scan in full.
func (w *watcher) breakOff(t *tracked) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t.broken = true
}

// add watches the directory rel of t. It is called before the directory is
// read, so nothing that changes after the read goes unseen.
func (w *watcher) add(t *tracked, rel string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := t.wds[rel]; ok {
		return nil
	}
	if w.fd < 0 || len(t.wds) >= maxTrackedDirs {
		t.giveUp = true
		return errNotTracked
	}
	wd, err := unix.InotifyAddWatch(w.fd, filepath.Join(t.dir, filepath.FromSlash(rel)), watchMask)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return nil // gone already: the read that follows fails the same way
	}
	if err != nil {
		t.giveUp = true // ENOSPC: the per-user watch limit
		return errNotTracked
	}
	if o, ok := w.wds[int32(wd)]; ok && (o.t != t || o.rel != rel) {
		// The same inode under two names (a bind mount, or moved): give up
		// on precision for both.
		o.t.broken, t.broken = true, true
	}
	w.wds[int32(wd)] = watchDir{t: t, rel: rel}
	t.wds[rel] = int32(wd)
	return nil
}

var errNotTracked = errors.New("checkpoint: directory not tracked")

// drain reads every queued event and records it in the projects' dirty
// sets.
func (w *watcher) drain() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd < 0 {
		return
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(w.fd, buf)
		if err == unix.EINTR {
			continue
		}
		if n <= 0 || err != nil {
			return // EAGAIN: the queue is empty
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nameBytes := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			off += unix.SizeofInotifyEvent + int(ev.Len)
			w.eventLocked(ev.Wd, ev.Mask, strings.TrimRight(string(nameBytes), "\x00"))
		}
	}
}

func (w *watcher) eventLocked(wd int32, mask uint32, name string) {
	if mask&unix.IN_Q_OVERFLOW != 0 {
		for _, t := range w.projects {
			t.broken = true
		}
		return
	}
	d, ok := w.wds[wd]
	if !ok {
		return // a watch removed meanwhile
	}
	t := d.t
	switch {
	case mask&unix.IN_IGNORED != 0:
		// The watch is gone (directory deleted, file system unmounted). A
		// deleted directory's parent saw IN_DELETE; anything else means the
		// events are no longer complete.
		delete(w.wds, wd)
		if t.wds[d.rel] == wd {
			delete(t.wds, d.rel)
			if d.rel == "" {
				t.broken = true
			} else {
				t.deep[d.rel] = true // read it again if it still exists
			}
		}
	case mask&unix.IN_MOVE_SELF != 0:
		// A directory moved: its old parent saw IN_MOVED_FROM (handled
		// below); the project directory itself is checked by inode in get.
	case mask&(unix.IN_DELETE_SELF|unix.IN_UNMOUNT) != 0:
		if d.rel == "" {
			t.broken = true
		} else {
			t.deep[d.rel] = true
		}
	case name == "":
		// An attribute of the directory itself changed (its mode).
		t.shallow[parentRel(d.rel)] = true
	default:
		t.shallow[d.rel] = true
		if mask&unix.IN_ISDIR == 0 {
			break
		}
		child := path.Join(d.rel, name)
		if mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0 {
			// A new directory: its contents were never watched.
			t.deep[child] = true
		}
		if mask&(unix.IN_MOVED_FROM|unix.IN_DELETE) != 0 {
			// Its watches now describe a directory elsewhere (or none).
			for rel, cwd := range t.wds {
				if rel == child || strings.HasPrefix(rel, child+"/") {
					unix.InotifyRmWatch(w.fd, uint32(cwd))
					delete(w.wds, cwd)
					delete(t.wds, rel)
				}
			}
		}
	}
}

// scanProject is Create's scan of dir: a tracked scan when the Repo holds
// the project's last scan and the events since are complete, a full one
// (which starts tracking) otherwise. full says which it was. With objects
// nil the scan only hashes; the caller must then forget dir (the tracked
// state would name trees that were not stored).
func (r *Repo) scanProject(ctx context.Context, dir string, objects ObjectStore, ig *Ignore, igKey string, progress func(Progress)) (s *scan, root Hash, full bool, err error) {
	now := time.Now()
	var t *tracked
	var epoch string
	if ep, ok := r.objects.(epocher); ok {
		if epoch, err = ep.Epoch(); err == nil && epoch != "" {
			t = r.watch.get(dir, now)
		}
	}
	if t != nil {
		r.watch.drain()
		c := r.watch.take(t)
		if !c.broken && t.root != nil && t.epoch == epoch && t.ignore == igKey && now.Sub(t.fullScan) < fullScanEvery {
			s, root, err = r.scanTracked(ctx, t, c, objects, ig, progress)
			if err != nil {
				r.watch.breakOff(t)
			}
			return s, root, false, err
		}
		r.watch.reset(t)
	}
	s = newScan(ctx, dir, objects, ig, loadIndex(filepath.Join(stateDir(dir), indexName)), progress)
	s.track, s.watch = t, r.watch
	n, err := s.walk("", nil)
	if err == nil {
		err = s.hashFiles()
	}
	if err == nil {
		root, err = s.buildTrees(n)
	}
	if err != nil {
		if t != nil {
			r.watch.breakOff(t)
		}
		return nil, "", true, err
	}
	s.rootNode, s.ignored = n, collectIgnored(n, nil)
	if s.track != nil {
		t.root, t.rootHash, t.index, t.epoch, t.ignore, t.fullScan = n, root, s.now, epoch, igKey, now
	}
	return s, root, true, nil
}

// scanTracked re-reads only what the events c name.
func (r *Repo) scanTracked(ctx context.Context, t *tracked, c changes, objects ObjectStore, ig *Ignore, progress func(Progress)) (*scan, Hash, error) {
	s := newScan(ctx, t.dir, objects, ig, t.index, progress)
	s.track, s.watch, s.dirty = t, r.watch, c
	s.hot, s.hotKids = c.hot()
	n, err := s.walk("", t.root)
	if err != nil {
		return nil, "", err
	}
	if err := s.hashFiles(); err != nil {
		return nil, "", err
	}
	root, err := s.buildTrees(n)
	if err != nil {
		return nil, "", err
	}
	// The stat cache: the last one, less what was read again, plus what the
	// reads found. It is kept in memory; the file on disk keeps the last full
	// scan's (stale entries there only cost a re-read).
	ix := t.index
	for _, rel := range s.gone {
		delete(ix.Files, rel)
	}
	for rel, e := range s.now.Files {
		ix.Files[rel] = e
	}
	if s.now.Epoch != "" {
		ix.Epoch = s.now.Epoch
	}
	s.now, s.rootNode, s.ignored = ix, n, collectIgnored(n, nil)
	t.root, t.rootHash, t.index = n, root, ix
	return s, root, nil
}
