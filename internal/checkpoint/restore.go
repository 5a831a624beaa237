package checkpoint

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// RestoreOptions are the inputs of Restore besides the checkpoint.
type RestoreOptions struct {
	// DB, if set and the checkpoint has a database snapshot, is restored too.
	DB ProjectDB
	// Ignore overrides DefaultIgnore: ignored paths of the current tree are
	// kept as they are (moved into the restored tree).
	Ignore []string
	// Progress, if set, is called as files are written.
	Progress func(Progress)
}

// RestoreResult says what Restore did.
type RestoreResult struct {
	Files        int // files in the restored tree
	FilesWritten int // files written from the object store (the others were unchanged: linked or moved)
	DirsReused   int // unchanged directories moved whole into the new tree (their files count as not written)
	// DependencyFiles lists the dependency manifests and lockfiles (see
	// DependencyFiles) whose content differs from before: reinstall.
	DependencyFiles []string
	DBRestored      bool
}

// journal is the intent record of a restore, kept in the project's state
// directory until the restore has finished.
type journal struct {
	Version  int
	Manifest Hash
	DB       Hash
	WithDB   bool
	OrigDev  uint64
	OrigIno  uint64
	StageDev uint64
	StageIno uint64
	Ignored  []string
	Moved    []string // unchanged directories moved whole into the new tree
}

// ErrNeedDB is returned by Recover when the interrupted restore included
// the database but no ProjectDB was given.
var ErrNeedDB = errors.New("checkpoint: the interrupted restore includes the database: pass its ProjectDB")

// Restore replaces the files of projectDir (and the database, if opt.DB is
// set) with the checkpoint's. The new tree is built beside the project (in
// its state directory, on the same file system), then exchanged with the
// project directory in one renameat2(RENAME_EXCHANGE); the database is
// restored after that. A crash at any moment leaves the old files or the new
// ones: Recover (which Create and Restore require) rolls an interrupted
// restore back if the exchange had not happened and forward if it had.
//
// Paths the ignore list matches (node_modules, ...) are carried over from
// the current tree. When running as root, restored files get the owner of
// the project directory. Stop the project's sandbox first: a bind mount of
// the project directory keeps showing the old tree, and projectDir must not
// itself be a mount point. Restoring into a directory that does not exist
// (a fork) creates it.
func (r *Repo) Restore(ctx context.Context, projectDir string, cp Checkpoint, opt RestoreOptions) (RestoreResult, error) {
	r.gcMu.RLock()
	defer r.gcMu.RUnlock()
	var res RestoreResult
	projectDir = filepath.Clean(projectDir)
	sd := stateDir(projectDir)
	if err := os.MkdirAll(sd, 0o700); err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	unlock, err := lockDir(sd)
	if err != nil {
		return res, err
	}
	defer unlock()
	var carry *trackCarry // change tracking carried over to the new tree
	defer func() {
		if carry == nil || !carry.done {
			r.watch.forget(projectDir) // its watches describe the old tree
		}
	}()
	if _, err := os.Stat(filepath.Join(sd, journalName)); err == nil {
		return res, ErrRecoveryNeeded
	}
	if err := os.Mkdir(projectDir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return res, fmt.Errorf("restore: %w", err)
	}
	pfi, err := os.Stat(projectDir)
	if err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	pst := pfi.Sys().(*syscall.Stat_t)
	own := owner{root: os.Geteuid() == 0, uid: int(pst.Uid), gid: int(pst.Gid)}

	// What is there now (the scan a checkpoint makes: tracked, through the
	// stat cache) and what is wanted, leaving out the insides of directories
	// that stay as they are.
	ig := NewIgnore(opt.Ignore)
	cur, curRoot, _, err := r.scanProject(ctx, projectDir, nil, ig, ignoreKey(opt.Ignore), nil)
	if err != nil {
		return res, fmt.Errorf("restore: scan %s: %w", projectDir, err)
	}
	keep := func(rel string, w, c Entry) bool {
		return w.Type == TypeDir && c.Type == TypeDir && w.Hash == c.Hash && w.Mode == c.Mode && ownerOK(projectDir, own, rel)
	}
	curFlat, want := map[string]Entry{}, map[string]Entry{}
	pair := pairLoader{want: &loader{ctx: ctx, objects: r.objects}, cur: &loader{ctx: ctx, objects: r.objects, mem: cur.trees}, keep: keep}
	if err := pair.flatten(cp.Manifest, curRoot, "", want, curFlat); err != nil {
		return res, fmt.Errorf("restore: read manifest: %w", err)
	}
	curDirs := dirNodes(cur.rootNode, map[string]*node{})
	if opt.DB != nil && cp.DB != "" {
		if ok, err := r.objects.Has(ctx, cp.DB); err != nil || !ok {
			return res, fmt.Errorf("restore: database snapshot %s missing (%v)", cp.DB, err)
		}
	}
	res.DependencyFiles = dependencyChanges(curFlat, want)

	paths := sortedKeys(want) // parents before children
	// Unchanged directories and files move into the new tree (undone on
	// rollback), so a restore does work in proportion to what changed.
	var moved []string
	{
		var last string
		for _, rel := range paths {
			if last != "" && strings.HasPrefix(rel, last+"/") {
				continue
			}
			w, c := want[rel], curFlat[rel]
			if (w.Type == TypeDir || w.Type == TypeFile) && c.Type == w.Type && w.Hash == c.Hash && w.Mode == c.Mode && ownerOK(projectDir, own, rel) {
				moved = append(moved, rel)
				if w.Type == TypeDir {
					last = rel
				}
			}
		}
	}

	// Build the new tree aside.
	stage := filepath.Join(sd, stageName)
	if err := os.RemoveAll(stage); err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	if err := os.Mkdir(stage, 0o700); err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	sfi, err := os.Stat(stage)
	if err != nil {
		return res, err
	}
	sst := sfi.Sys().(*syscall.Stat_t)
	j := journal{Version: 1, Manifest: cp.Manifest, DB: cp.DB, WithDB: opt.DB != nil && cp.DB != "",
		OrigDev: pst.Dev, OrigIno: pst.Ino, StageDev: sst.Dev, StageIno: sst.Ino, Ignored: cur.ignored, Moved: moved}
	if err := writeJournal(sd, j); err != nil {
		return res, fmt.Errorf("restore: journal: %w", err)
	}
	if cur.track != nil && ignoreKey(opt.Ignore) == cur.track.ignore {
		carry = r.watch.beginCarry(cur.track, keptDirs(j.Moved, want, curDirs))
	}
	fail := func(err error) (RestoreResult, error) {
		if rerr := rollback(projectDir, j); rerr != nil {
			return RestoreResult{}, fmt.Errorf("restore: %w (and undoing it: %v; call Recover)", err, rerr)
		}
		return RestoreResult{}, fmt.Errorf("restore: %w", err)
	}
	// Current files by content (outside kept directories), to link
	// instead of copying.
	// Each is linked at most once, and never one that moves into the new
	// tree itself: two names for one inode would make a later write to one
	// of them change the other.
	byHash := map[Hash]string{}
	for rel, e := range curFlat {
		if e.Type == TypeFile && e.Hash != "" && !slices.Contains(moved, rel) {
			byHash[e.Hash+Hash(fmt.Sprintf(":%o", e.Mode))] = rel
		}
	}
	nfiles := 0
	for rel, e := range want {
		switch {
		case e.Type == TypeFile:
			nfiles++
		case curDirs[rel] != nil && keep(rel, e, curFlat[rel]):
			nfiles += curDirs[rel].files
		}
	}
	// The stat cache of the new tree: the present one's entries for files
	// in directories moved whole, plus the placed files' (below).
	ix := &index{Version: 1, Files: keptEntries(cur.now, curFlat)}
	if ep, ok := r.objects.(epocher); ok {
		ix.Epoch, _ = ep.Epoch() // read before any object, under the GC lock
	}
	var dirs, written, placed []string
	linkedSet := map[string]bool{}
	done := 0
	for _, rel := range paths {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		e := want[rel]
		dst := filepath.Join(stage, filepath.FromSlash(rel))
		if len(moved) > 0 && moved[0] == rel {
			moved = moved[1:]
			if err := os.Rename(filepath.Join(projectDir, filepath.FromSlash(rel)), dst); err != nil {
				return fail(err)
			}
			hook("move " + rel)
			if e.Type == TypeDir {
				// Its files keep their stat cache entries.
				done += curDirs[rel].files
				res.DirsReused++
			} else {
				done++
				placed = append(placed, rel)
			}
			continue
		}
		switch e.Type {
		case TypeDir:
			if err := os.Mkdir(dst, 0o700); err != nil {
				return fail(err)
			}
			dirs = append(dirs, rel)
		case TypeSymlink:
			if err := os.Symlink(e.Target, dst); err != nil {
				return fail(err)
			}
		case TypeFile:
			linked := false
			key := e.Hash + Hash(fmt.Sprintf(":%o", e.Mode))
			if src, ok := byHash[key]; ok && ownerOK(projectDir, own, src) {
				linked = os.Link(filepath.Join(projectDir, filepath.FromSlash(src)), dst) == nil
				delete(byHash, key)
			}
			if linked {
				linkedSet[rel] = true
			}
			placed = append(placed, rel)
			if !linked {
				if err := r.writeFile(ctx, dst, e); err != nil {
					return fail(fmt.Errorf("%s: %w", rel, err))
				}
				written = append(written, dst)
				res.FilesWritten++
			}
			done++
			if opt.Progress != nil && done%64 == 0 {
				opt.Progress(Progress{Phase: "restore", Done: done, Total: nfiles})
			}
		default:
			return fail(fmt.Errorf("%s: unknown entry type %q", rel, e.Type))
		}
		if err := own.chown(dst); err != nil {
			return fail(err)
		}
		hook("stage " + rel)
	}
	// Directory modes last (a read-only directory is filled first).
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chmod(filepath.Join(stage, filepath.FromSlash(dirs[i])), fileMode(want[dirs[i]].Mode)); err != nil {
			return fail(err)
		}
	}
	if err := os.Chmod(stage, pfi.Mode().Perm()); err != nil {
		return fail(err)
	}
	if err := own.chown(stage); err != nil {
		return fail(err)
	}
	// The stat cache of the new tree, so the next checkpoint reads nothing:
	// files inside moved directories keep theirs; linked files are taken
	// again once the old tree is gone (removing their old names changes
	// their ctime).
	for _, rel := range placed {
		fi, err := os.Lstat(filepath.Join(stage, filepath.FromSlash(rel)))
		if err != nil {
			return fail(err)
		}
		k := statKey(fi)
		k.Hash, k.Written, k.Restat = want[rel].Hash, true, linkedSet[rel]
		ix.Files[rel] = k
	}
	if err := saveIndex(filepath.Join(sd, indexName+".new"), ix); err != nil {
		return fail(err)
	}
	// Everything durable before the switch: the files written (in
	// parallel, so the file system's journal commits them together). Moved
	// and linked entries were on disk already; the new directory entries
	// reach the journal before the exchange (ext4 and xfs log metadata in
	// order).
	if err := syncFiles(written); err != nil {
		return fail(err)
	}
	if carry != nil {
		carry.watchNew(stage, append(dirs, ""))
	}
	hook("staged")
	if err := unix.Renameat2(unix.AT_FDCWD, stage, unix.AT_FDCWD, projectDir, unix.RENAME_EXCHANGE); err != nil {
		return fail(fmt.Errorf("exchange %s: %w", projectDir, err))
	}
	hook("exchanged")
	// The commit point is passed: from here on, roll forward.
	if opt.Progress != nil {
		opt.Progress(Progress{Phase: "restore", Done: nfiles, Total: nfiles})
	}
	res.Files = nfiles
	final, err := r.finish(ctx, projectDir, j, ix, opt.DB, opt.Progress)
	if err != nil {
		return res, err
	}
	if carry != nil {
		carry.commit(projectDir, cp.Manifest, want, j, final)
	}
	res.DBRestored = j.WithDB
	return res, nil
}

// finish completes a restore whose exchange has happened (idempotent). It
// returns the new tree's stat cache (nil if there is none to write): staged,
// the one the restore built, completed, or else the one on disk.
func (r *Repo) finish(ctx context.Context, projectDir string, j journal, staged *index, db ProjectDB, progress func(Progress)) (*index, error) {
	sd := stateDir(projectDir)
	oldTree := filepath.Join(sd, stageName) // after the exchange, the old files
	for _, rel := range j.Ignored {
		src := filepath.Join(oldTree, filepath.FromSlash(rel))
		dst := filepath.Join(projectDir, filepath.FromSlash(rel))
		if _, err := os.Lstat(src); err != nil {
			continue
		}
		if _, err := os.Lstat(dst); err == nil {
			continue
		}
		if !realDir(projectDir, path.Dir(rel)) {
			continue // its folder is not in the restored tree (or is a link)
		}
		if err := os.Rename(src, dst); err != nil {
			return nil, fmt.Errorf("restore: keep %s: %w", rel, err)
		}
		hook("carry " + rel)
	}
	if j.WithDB {
		if db == nil {
			return nil, ErrNeedDB
		}
		if progress != nil {
			progress(Progress{Phase: "database"})
		}
		rc, err := r.objects.Get(ctx, j.DB)
		if err != nil {
			return nil, fmt.Errorf("restore: database snapshot: %w", err)
		}
		err = db.Restore(ctx, rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("restore: database: %w", err)
		}
		hook("database")
	}
	os.Remove(filepath.Join(sd, indexName)) // describes the old tree
	if err := os.RemoveAll(oldTree); err != nil {
		return nil, fmt.Errorf("restore: remove old files: %w", err)
	}
	hook("removed old")
	// The stat cache of the new tree: removing the old names of linked files
	// changed their ctime, so take it again (same inode, same content).
	var ix *index
	if _, err := os.Stat(filepath.Join(sd, indexName+".new")); err == nil {
		ix = staged
		if ix == nil {
			ix = loadIndex(filepath.Join(sd, indexName+".new"))
		}
		for rel, e := range ix.Files {
			if !e.Restat {
				continue
			}
			fi, err := os.Lstat(filepath.Join(projectDir, filepath.FromSlash(rel)))
			if err != nil {
				delete(ix.Files, rel)
				continue
			}
			k := statKey(fi)
			if k.Ino != e.Ino || k.Dev != e.Dev || k.Size != e.Size || k.Mtime != e.Mtime {
				delete(ix.Files, rel)
				continue
			}
			k.Hash, k.Written = e.Hash, true
			ix.Files[rel] = k
		}
		if err := saveIndex(filepath.Join(sd, indexName), ix); err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
		os.Remove(filepath.Join(sd, indexName+".new"))
	}
	// Not synced: should the removal be lost, Recover finishes again.
	if err := os.Remove(filepath.Join(sd, journalName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	hook("done")
	return ix, nil
}

// Recovery says what Recover did.
type Recovery string

// The outcomes of Recover.
const (
	NothingToRecover Recovery = "none"
	RolledBack       Recovery = "rolled back" // the old files (and database) stay
	RolledForward    Recovery = "rolled forward"
)

// Recover finishes or undoes a restore of projectDir that was interrupted
// (by a crash or a kill): rolled back when the new tree had not been
// switched in yet, forward (including the database, so pass db if the
// restore had one) when it had. Call it when the server starts, before
// running the project; Create and Restore refuse to run until it has.
func (r *Repo) Recover(ctx context.Context, projectDir string, db ProjectDB) (Recovery, error) {
	projectDir = filepath.Clean(projectDir)
	sd := stateDir(projectDir)
	if _, err := os.Stat(sd); errors.Is(err, fs.ErrNotExist) {
		return NothingToRecover, nil
	}
	unlock, err := lockDir(sd)
	if err != nil {
		return "", err
	}
	defer unlock()
	r.watch.forget(projectDir)
	b, err := os.ReadFile(filepath.Join(sd, journalName))
	if errors.Is(err, fs.ErrNotExist) {
		// No restore had begun (or it had finished): drop half-built leftovers.
		os.Remove(filepath.Join(sd, indexName+".new"))
		if err := os.RemoveAll(filepath.Join(sd, stageName)); err != nil {
			return "", err
		}
		return NothingToRecover, nil
	}
	if err != nil {
		return "", err
	}
	var j journal
	if err := json.Unmarshal(b, &j); err != nil {
		return "", fmt.Errorf("recover: bad journal: %w", err)
	}
	fi, err := os.Stat(projectDir)
	if err != nil {
		return "", fmt.Errorf("recover: %w", err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	switch {
	case st.Dev == j.StageDev && st.Ino == j.StageIno:
		if _, err := r.finish(ctx, projectDir, j, nil, db, nil); err != nil {
			return "", err
		}
		return RolledForward, nil
	case st.Dev == j.OrigDev && st.Ino == j.OrigIno:
		if err := rollback(projectDir, j); err != nil {
			return "", err
		}
		return RolledBack, nil
	}
	return "", fmt.Errorf("recover: %s is neither the old nor the new tree of the interrupted restore", projectDir)
}

// rollback undoes a restore that had not switched trees: directories moved
// into the stage go back, then the stage and the journal are removed.
func rollback(projectDir string, j journal) error {
	sd := stateDir(projectDir)
	stage := filepath.Join(sd, stageName)
	for _, rel := range j.Moved {
		src := filepath.Join(stage, filepath.FromSlash(rel))
		dst := filepath.Join(projectDir, filepath.FromSlash(rel))
		if _, err := os.Lstat(src); err != nil {
			continue
		}
		if _, err := os.Lstat(dst); err == nil {
			return fmt.Errorf("rollback: %s exists in both trees", rel)
		}
		if err := os.Rename(src, dst); err != nil {
			return fmt.Errorf("rollback: %w", err)
		}
		hook("unmove " + rel)
	}
	os.Remove(filepath.Join(sd, indexName+".new"))
	if err := os.RemoveAll(stage); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(sd, journalName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(sd)
}

// realDir reports whether rel is a directory below root reached through
// directories only (no symbolic link could lead the carry-over elsewhere).
func realDir(root, rel string) bool {
	if rel == "." || rel == "" {
		return true
	}
	p := root
	for _, c := range strings.Split(rel, "/") {
		p = filepath.Join(p, c)
		fi, err := os.Lstat(p)
		if err != nil || !fi.IsDir() {
			return false
		}
	}
	return true
}

// syncFiles fsyncs files, several at once.
func syncFiles(paths []string) error {
	var wg sync.WaitGroup
	errs := make([]error, len(paths))
	sem := make(chan struct{}, 16)
	for i, p := range paths {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			f, err := os.Open(p)
			if err == nil {
				err = f.Sync()
				f.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func sortedKeys(m map[string]Entry) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	// By path components, so a directory's contents follow it directly.
	slices.SortFunc(out, pathCompare)
	return out
}

// ownerOK reports whether rel (in the project) may be reused as is: owned
// by the project's owner when we are root.
func ownerOK(projectDir string, own owner, rel string) bool {
	fi, err := os.Lstat(filepath.Join(projectDir, filepath.FromSlash(rel)))
	if err != nil {
		return false
	}
	st := fi.Sys().(*syscall.Stat_t)
	return !own.root || int(st.Uid) == own.uid && int(st.Gid) == own.gid
}

// pathCompare orders paths by components ("a", "a/b", "a-b"), so that a
// directory's contents follow it directly.
func pathCompare(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if x == '/' {
			return -1
		}
		if y == '/' {
			return 1
		}
		if x < y {
			return -1
		}
		return 1
	}
	return len(a) - len(b)
}

func writeJournal(sd string, j journal) error {
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(sd, journalName), b, true)
}

// writeFile writes the blob of e to dst, checking its hash.
func (r *Repo) writeFile(ctx context.Context, dst string, e Entry) error {
	rc, err := r.objects.Get(ctx, e.Hash)
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	hw := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, hw), rc)
	if err == nil {
		err = f.Chmod(fileMode(e.Mode))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if got := Hash(hex.EncodeToString(hw.Sum(nil))); got != e.Hash {
		return fmt.Errorf("object %s is corrupt (content hashes to %s)", e.Hash, got)
	}
	return nil
}

func dependencyChanges(cur, want map[string]Entry) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range []map[string]Entry{cur, want} {
		for p := range m {
			if seen[p] || !slices.Contains(DependencyFiles, path.Base(p)) {
				continue
			}
			seen[p] = true
			a, b := cur[p], want[p]
			if a.Hash != b.Hash || a.Type != b.Type {
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return out
}

type owner struct {
	root     bool
	uid, gid int
}

func (o owner) chown(p string) error {
	if !o.root {
		return nil
	}
	return os.Lchown(p, o.uid, o.gid)
}

// lockDir takes an exclusive lock on a state directory (one create, restore
// or recover of a project at a time, across processes).
func lockDir(sd string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(sd, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}
