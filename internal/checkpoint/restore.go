package checkpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// RestoreOptions are the inputs of Restore besides the checkpoint.
type RestoreOptions struct {
	// DB, if set and the checkpoint has a database snapshot, is restored too.
	DB ProjectDB
	// Ignore overrides DefaultIgnore: ignored paths of the current tree are
	// kept as they are (left in place).
	Ignore []string
	// Progress, if set, is called as files are written.
	Progress func(Progress)
	// Note is kept in the journal and given to Finish (the caller's name
	// for what is being restored).
	Note string
	// Finish, if set, runs once the files and the database are restored and
	// before the journal goes, so that a restore a crash interrupts is only
	// finished when Finish has run (Recover calls the Finish it is given).
	Finish func(ctx context.Context, note string) error
	// PruneWhenFull says the present files are saved elsewhere (the caller
	// checkpointed them just before): if staging runs out of space or
	// inodes, the paths the checkpoint replaces or does not have are
	// deleted first and the restore is planned again. A crash in between
	// leaves the present without those paths, never a mix of versions.
	PruneWhenFull bool
}

// RestoreResult says what Restore did.
type RestoreResult struct {
	Files        int // files in the restored tree
	FilesWritten int // files written from the object store (the others were unchanged, or linked)
	DirsReused   int // unchanged directories left in place as they are
	// DependencyFiles lists the dependency manifests and lockfiles (see
	// DependencyFiles) whose content differs from before: reinstall.
	DependencyFiles []string
	DBRestored      bool
	// DBError says why the database could not be restored (the files were):
	// a corrupt or unreadable database must not keep people from getting
	// their files back.
	DBError string
}

// journal is the commit record of a restore: once it is on disk, the
// restore is finished whatever happens (Recover rolls it forward).
type journal struct {
	Version  int
	Manifest Hash
	DB       Hash
	WithDB   bool
	Ops      []op // in order; each can be applied again
	// Phase is the last part finished: "" (committed: the operations are
	// to apply), "files" (applied: the database is next) or "database"
	// (restored, or failed with DBError: Finish is next).
	Phase   string `json:",omitempty"`
	DBError string `json:",omitempty"`
	Note    string `json:",omitempty"`
}

// Phases of a journal.
const (
	phaseFiles    = "files"
	phaseDatabase = "database"
)

const journalVersion = 2

// ErrNeedDB is returned by Recover when the interrupted restore included
// the database but no ProjectDB was given.
var ErrNeedDB = errors.New("checkpoint: the interrupted restore includes the database: pass its ProjectDB")

// Restore makes the files of projectDir (and the database, if opt.DB is
// set) the checkpoint's, changing only what differs, in place:
//
//  1. plan: compare the checkpoint with a scan of the present, reading only
//     the subtrees that differ; the result is a list of operations (remove a
//     path, put a staged file, link or directory at a path, set a
//     directory's mode);
//  2. stage: write every new file, link and directory in the project's state
//     directory (same file system), synced;
//  3. commit: write the journal (the operations), synced. Before this point
//     a crash leaves the old files, untouched; after it, the new ones;
//  4. apply: renames into place (each atomic, each checkable afterwards),
//     then the database, then clean up and remove the journal.
//
// Recover (which Create and Restore require) finishes an interrupted
// restore, or throws away a half-built stage; call it before the project is
// used again (package history does, at start and on first access), never
// after edits, which a roll-forward would overwrite. Paths the ignore list matches
// (node_modules, ...) stay where they are. When running as root, restored
// files get the owner of the project directory. Restoring into a directory
// that does not exist (a fork) creates it. The sandbox's bind mount of the
// project keeps working: the directory stays the same inode.
func (r *Repo) Restore(ctx context.Context, projectDir string, cp Checkpoint, opt RestoreOptions) (RestoreResult, error) {
	res, err := r.restore(ctx, projectDir, cp, opt)
	if errors.Is(err, errPruned) {
		opt.PruneWhenFull = false
		return r.restore(ctx, projectDir, cp, opt)
	}
	return res, err
}

// errPruned asks Restore to plan again: staging found the disk full and
// made room (RestoreOptions.PruneWhenFull).
var errPruned = errors.New("checkpoint: pruned to make room; plan again")

func (r *Repo) restore(ctx context.Context, projectDir string, cp Checkpoint, opt RestoreOptions) (RestoreResult, error) {
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
	tracked := false // the change tracking stays valid (see below)
	defer func() {
		if !tracked {
			r.watch.forget(projectDir)
		}
	}()
	if _, err := os.Stat(filepath.Join(sd, journalName)); err == nil {
		return res, ErrRecoveryNeeded
	}
	created := false
	if err := os.Mkdir(projectDir, 0o755); err == nil {
		created = true
	} else if !errors.Is(err, fs.ErrExist) {
		return res, fmt.Errorf("restore: %w", err)
	}
	pfi, err := os.Stat(projectDir)
	if err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	pst := pfi.Sys().(*syscall.Stat_t)
	own := owner{root: os.Geteuid() == 0, uid: int(pst.Uid), gid: int(pst.Gid)}

	// What is there now: the scan a checkpoint makes (tracked, objects
	// stored, so the tracking stays valid after the restore, which only
	// changes what its events will report); a new directory is just hashed.
	ig := NewIgnore(opt.Ignore)
	var cur *scan
	var curRoot Hash
	if created {
		cur, curRoot, err = scanDir(ctx, projectDir, nil, ig, nil, nil)
	} else {
		cur, curRoot, _, err = r.scanProject(ctx, projectDir, r.objects, ig, ignoreKey(opt.Ignore), nil)
	}
	if err != nil {
		return res, fmt.Errorf("restore: scan %s: %w", projectDir, err)
	}
	if opt.DB != nil && cp.DB != "" {
		if ok, err := r.objects.Has(ctx, cp.DB); err != nil || !ok {
			return res, fmt.Errorf("restore: database snapshot %s missing (%v)", cp.DB, err)
		}
	}
	p := &planner{r: r, ctx: ctx, dir: projectDir, stage: filepath.Join(sd, stageName), own: own, progress: opt.Progress}
	if err := p.plan(cp.Manifest, curRoot, cur); err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	res.DependencyFiles = dependencyChanges(p.cur, p.want)
	if err := os.RemoveAll(p.stage); err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	if err := p.stageAll(); err != nil {
		os.RemoveAll(p.stage)
		if opt.PruneWhenFull && errors.Is(err, syscall.ENOSPC) {
			if perr := p.prune(); perr != nil {
				return res, fmt.Errorf("restore: make room: %w (staging: %w)", perr, err)
			}
			return res, errPruned
		}
		return res, fmt.Errorf("restore: %w", err)
	}
	hook("staged")
	ix := p.newIndex(cur.now)
	if ep, ok := r.objects.(epocher); ok {
		ix.Epoch, _ = ep.Epoch() // read under the GC lock, before any object is used
	}
	if err := saveIndex(filepath.Join(sd, indexName+".new"), ix); err != nil {
		os.RemoveAll(p.stage)
		return res, fmt.Errorf("restore: %w", err)
	}
	j := journal{Version: journalVersion, Manifest: cp.Manifest, DB: cp.DB, WithDB: opt.DB != nil && cp.DB != "", Ops: p.ops, Note: opt.Note}
	if err := writeJournal(sd, j); err != nil {
		os.RemoveAll(p.stage)
		return res, fmt.Errorf("restore: journal: %w", err)
	}
	// The commit point is passed: from here on, roll forward.
	final, err := r.finish(ctx, projectDir, &j, ix, RecoverOptions{DB: opt.DB, Finish: opt.Finish, progress: opt.Progress})
	if err != nil {
		return res, err
	}
	// The tracked state stays: the directory is the same inode, and the
	// events of what was applied name the directories to read again.
	if cur.track != nil && final != nil {
		cur.track.index = final
		tracked = true
	}
	res.Files, res.FilesWritten, res.DirsReused, res.DBRestored = p.files, p.written, p.reused, j.WithDB && j.DBError == ""
	res.DBError = j.DBError
	return res, nil
}

// finish applies the journal's operations (again: each one checks whether
// it has happened), restores the database, runs opt.Finish, completes the
// stat cache and removes the stage and the journal. Each part finished is
// recorded in the journal, so a crash resumes after it. A database that
// cannot be restored is recorded (j.DBError) and the restore goes on: the
// files are back either way. It returns the new stat cache (nil if there is
// none to write): staged, the one the restore built, completed, or else the
// one on disk.
func (r *Repo) finish(ctx context.Context, projectDir string, j *journal, staged *index, opt RecoverOptions) (*index, error) {
	sd := stateDir(projectDir)
	stage := filepath.Join(sd, stageName)
	if j.Phase == "" {
		if err := os.MkdirAll(filepath.Join(stage, "trash"), 0o700); err != nil { // gone if a finish was cut short
			return nil, fmt.Errorf("restore: %w", err)
		}
		for i, o := range j.Ops {
			if err := o.apply(projectDir, stage, i); err != nil {
				return nil, fmt.Errorf("restore: %w", err)
			}
			hook("apply " + o.Path)
		}
		if err := r.advance(sd, j, phaseFiles); err != nil {
			return nil, err
		}
	}
	if j.Phase == phaseFiles {
		if j.WithDB {
			if err := r.restoreDB(ctx, j, opt); err != nil {
				return nil, err
			}
		}
		if err := r.advance(sd, j, phaseDatabase); err != nil {
			return nil, err
		}
	}
	if opt.Finish != nil {
		if err := opt.Finish(ctx, j.Note); err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
		hook("finish")
	}
	if err := os.RemoveAll(stage); err != nil { // the staged leftovers and what was removed
		return nil, fmt.Errorf("restore: remove old files: %w", err)
	}
	hook("removed old")
	// The stat cache of the new tree: renames and removed names changed the
	// ctime of files put or linked, so take their stat again.
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

// advance records in the journal that a phase is finished.
func (r *Repo) advance(sd string, j *journal, phase string) error {
	j.Phase = phase
	if err := writeJournal(sd, *j); err != nil {
		return fmt.Errorf("restore: journal: %w", err)
	}
	return nil
}

// restoreDB puts the journal's database snapshot back. A failure of the
// database itself (corrupt, full, gone) is kept in j.DBError; only a
// missing ProjectDB or a cancelled ctx stop the restore.
func (r *Repo) restoreDB(ctx context.Context, j *journal, opt RecoverOptions) error {
	if opt.DB == nil {
		return ErrNeedDB
	}
	if opt.progress != nil {
		opt.progress(Progress{Phase: "database"})
	}
	rc, err := r.objects.Get(ctx, j.DB)
	if err == nil {
		err = opt.DB.Restore(ctx, rc)
		rc.Close()
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("restore: database: %w", err)
		}
		j.DBError = err.Error()
	}
	hook("database")
	return nil
}

// Recovery says what Recover did.
type Recovery string

// The outcomes of Recover.
const (
	NothingToRecover Recovery = "none"
	RolledBack       Recovery = "rolled back" // the old files (and database) stay
	RolledForward    Recovery = "rolled forward"
)

// Recover finishes a restore of projectDir that a crash or a kill
// interrupted after its commit point (rolled forward, including the
// database, so pass db if the restore had one), or throws away what a
// restore interrupted before it had staged (rolled back: the files were
// never touched). Call it when the server starts, before running the
// project; Create and Restore refuse to run until it has.
func (r *Repo) Recover(ctx context.Context, projectDir string, db ProjectDB) (Recovery, error) {
	rec, _, err := r.RecoverWith(ctx, projectDir, RecoverOptions{DB: db})
	return rec, err
}

// RecoverOptions are the inputs of RecoverWith.
type RecoverOptions struct {
	DB ProjectDB // the project's database, if the restore included it
	// Finish is the RestoreOptions.Finish of the interrupted restore; it is
	// called with the journal's Note before the journal goes.
	Finish   func(ctx context.Context, note string) error
	progress func(Progress)
}

// Pending reports whether projectDir has the journal of a restore that is
// committed but not finished (in progress, or interrupted).
func Pending(projectDir string) bool {
	_, err := os.Stat(filepath.Join(stateDir(filepath.Clean(projectDir)), journalName))
	return err == nil
}

// RecoverWith is Recover with a Finish step; it also returns the database
// error of a restore it rolled forward ("" if none).
func (r *Repo) RecoverWith(ctx context.Context, projectDir string, opt RecoverOptions) (Recovery, string, error) {
	projectDir = filepath.Clean(projectDir)
	sd := stateDir(projectDir)
	if _, err := os.Stat(sd); errors.Is(err, fs.ErrNotExist) {
		return NothingToRecover, "", nil
	}
	unlock, err := lockDir(sd)
	if err != nil {
		return "", "", err
	}
	defer unlock()
	r.watch.forget(projectDir)
	b, err := os.ReadFile(filepath.Join(sd, journalName))
	if errors.Is(err, fs.ErrNotExist) {
		// No restore had committed: drop half-built leftovers.
		os.Remove(filepath.Join(sd, indexName+".new"))
		stage := filepath.Join(sd, stageName)
		if _, err := os.Lstat(stage); err != nil {
			return NothingToRecover, "", nil
		}
		if err := os.RemoveAll(stage); err != nil {
			return "", "", err
		}
		return RolledBack, "", nil
	}
	if err != nil {
		return "", "", err
	}
	var j journal
	if err := json.Unmarshal(b, &j); err != nil {
		return "", "", fmt.Errorf("recover: bad journal: %w", err)
	}
	if j.Version != journalVersion {
		return "", "", fmt.Errorf("recover: the restore of %s was interrupted under an older version (journal version %d): finish it with that version", projectDir, j.Version)
	}
	if _, err := r.finish(ctx, projectDir, &j, nil, opt); err != nil {
		return "", "", err
	}
	return RolledForward, j.DBError, nil
}
