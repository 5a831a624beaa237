// Package checkpoint captures and restores a project's state: its files (a
// content-addressed, deduplicated object store of manifests and blobs), its
// database (a snapshot from a ProjectDB), the agent conversation (an opaque
// blob) and its environment (run configuration, variables, secret names and
// versions, never secret values). Creating a checkpoint costs in proportion
// to what changed; restoring is atomic across crashes; blobs no checkpoint
// references are garbage collected. It imports only package linediff: the records
// live in the caller's store (see store.Checkpoint).
//
// On disk:
//
//	<objects>/objects/ab/cdef…   one DEFLATE blob per content hash (files,
//	                             trees, database snapshots, conversations)
//	<objects>/packs/             what GC packed (pack.go, pack_block.go)
//	<objects>/tmp/               blobs being written (a crash leaves only these)
//	<objects>/epoch              changes when GC may delete objects
//	<parent>/.<project>.checkpoint/
//	    index                    stat cache: path → size, mtime, ctime, inode, hash
//	    lock                     flock: one create/restore/recover per project
//	    restore.json, stage/     only during a restore: its journal, the new
//	                             entries staged, and what it removed
//
// A manifest is a Merkle tree: one JSON tree object per directory (name,
// type, mode, size, hash; symbolic links keep their target), so an unchanged
// directory is one shared object and a diff reads only differing subtrees.
//
// Restore protocol, in place: scan the current tree (tracked, see watch.go)
// and compare it with the checkpoint's, reading only differing subtrees;
// plan operations (remove a path, put a staged entry at a path, set a
// directory's mode); stage every new file, link and directory and fsync
// them; write the journal of operations, synced (the commit point); apply
// them (renames, each atomic and checkable by inode), restore the database,
// run the caller's Finish step, remove the stage and the journal; the
// journal records each phase finished, so a recovery resumes after it. A
// database that cannot be read or restored is reported, not fatal: the
// files are checkpointed and restored regardless. Recover rolls a journal forward, or
// throws away a stage without one: the files are either all old or all new.
// Ignored paths (node_modules, …) stay where they are; the project directory
// stays the same inode, so a sandbox's bind mount of it sees the result.
package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ProjectDB is a project's own database as checkpoints see it (package
// projectdb implements it for SQLite files and PostgreSQL databases).
type ProjectDB interface {
	// Snapshot writes a consistent copy of the database to w while the app
	// may keep using it.
	Snapshot(ctx context.Context, w io.Writer) error
	// Restore replaces the whole database with a snapshot, atomically.
	Restore(ctx context.Context, r io.Reader) error
	// Tables counts the rows of every table.
	Tables(ctx context.Context) (map[string]int64, error)
}

// Checkpoint is what Create captured: the hashes of its objects plus the
// environment and metrics, all of which the caller records (the store's
// checkpoints table has one column or JSON field for each).
type Checkpoint struct {
	Manifest     Hash    `json:"manifest"`               // root tree of the files
	DB           Hash    `json:"db,omitempty"`           // database snapshot ("" without one)
	Conversation Hash    `json:"conversation,omitempty"` // agent conversation ("" without one)
	Env          Env     `json:"env"`
	Metrics      Metrics `json:"metrics"`
}

// Refs returns the objects the checkpoint references directly.
func (c Checkpoint) Refs() Refs {
	return Refs{Manifest: c.Manifest, DB: c.DB, Conversation: c.Conversation}
}

// Refs are the root objects of one checkpoint, what GC and Fsck start from.
type Refs struct {
	Manifest, DB, Conversation Hash
}

// Env is the environment a checkpoint restores. Secret values are never
// part of it: only names and the version that was current.
type Env struct {
	RunConfig string            `json:"run_config,omitempty"`
	Vars      map[string]string `json:"vars,omitempty"` // non-secret variables
	Secrets   []SecretRef       `json:"secrets,omitempty"`
}

// SecretRef names a secret and the version a checkpoint saw.
type SecretRef struct {
	Name    string `json:"name"`
	Version int64  `json:"version"`
}

// Metrics describe a checkpoint. The caller supplies Trigger, Actor,
// TokensUsed and ExecutionMS; Create fills in the rest.
type Metrics struct {
	Trigger       string           `json:"trigger,omitempty"` // user, agent, restore, ...
	Actor         string           `json:"actor,omitempty"`   // user id or agent name
	TokensUsed    int64            `json:"tokens_used,omitempty"`
	ExecutionMS   int64            `json:"execution_ms,omitempty"`
	FilesAdded    int              `json:"files_added"`
	FilesModified int              `json:"files_modified"`
	FilesRemoved  int              `json:"files_removed"`
	LinesAdded    int              `json:"lines_added"`
	LinesRemoved  int              `json:"lines_removed"`
	Files         int              `json:"files"`               // files in the tree
	Bytes         int64            `json:"bytes"`               // their total size
	FilesHashed   int              `json:"files_hashed"`        // files read (the others came from the stat cache)
	CreateMS      int64            `json:"create_ms"`           // time Create took
	DBTables      map[string]int64 `json:"db_tables,omitempty"` // table → rows at the checkpoint
	// DBError says why the database is not in the checkpoint (it could not
	// be read: corrupt, or no room for its snapshot); the files are.
	DBError string `json:"db_error,omitempty"`
	// StoredBytes is what the checkpoint added to the object store
	// (compressed; objects already there cost nothing).
	StoredBytes int64 `json:"stored_bytes,omitempty"`
}

// Repo creates, restores, diffs and collects checkpoints over one object
// store. It is safe for concurrent use; GC excludes Create in this process.
type Repo struct {
	objects ObjectStore
	gcMu    sync.RWMutex
	watch   *watcher // change tracking of scanned projects (watch.go)
}

// NewRepo returns a Repo storing objects in objects. Close it to release
// its change tracking.
func NewRepo(objects ObjectStore) *Repo { return &Repo{objects: objects, watch: newWatcher()} }

// Close releases the Repo's change tracking (its inotify instance).
func (r *Repo) Close() error {
	r.watch.close()
	return nil
}

// Objects returns the repo's object store.
func (r *Repo) Objects() ObjectStore { return r.objects }

// ErrRecoveryNeeded is returned when an interrupted restore of the project
// must first be finished or undone by Recover.
var ErrRecoveryNeeded = errors.New("checkpoint: an interrupted restore needs Recover")

// CreateOptions are the inputs of Create besides the files.
type CreateOptions struct {
	// Parent is the previous checkpoint, for the change metrics (nil: all
	// files count as added).
	Parent *Checkpoint
	// DB is the project database to snapshot (nil: none).
	DB ProjectDB
	// Conversation is the agent conversation so far, stored opaque (nil: none).
	Conversation io.Reader
	Env          Env
	Metrics      Metrics // Trigger, Actor, TokensUsed, ExecutionMS
	// Ignore overrides DefaultIgnore.
	Ignore []string
	// Progress, if set, is called as files are scanned.
	Progress func(Progress)
	// Commit, if set, is called with the finished checkpoint while the garbage
	// collector is still held off; record the checkpoint in it. Without it,
	// record the checkpoint promptly (GC's grace period protects new blobs).
	Commit func(ctx context.Context, cp Checkpoint) error
}

// stateDir holds a project's stat cache and, during a restore, the journal
// and the new tree: a hidden sibling of the project directory, so on the same
// file system and outside the project's files.
func stateDir(projectDir string) string {
	d := filepath.Clean(projectDir)
	return filepath.Join(filepath.Dir(d), "."+filepath.Base(d)+".checkpoint")
}

// Forget removes the checkpoint state kept beside a project directory and
// stops tracking its changes (call it when the project is deleted).
func (r *Repo) Forget(projectDir string) error {
	r.watch.forget(projectDir)
	return os.RemoveAll(stateDir(projectDir))
}

// Create captures projectDir. Unchanged files (same path, size, mtime,
// ctime and inode as at the previous checkpoint of this directory) are not
// read again. Create only reads the project; the app may keep running, but
// files written during the scan may be captured in either version.
func (r *Repo) Create(ctx context.Context, projectDir string, opt CreateOptions) (Checkpoint, error) {
	r.gcMu.RLock()
	defer r.gcMu.RUnlock()
	start := time.Now()
	sd := stateDir(projectDir)
	if err := os.MkdirAll(sd, 0o700); err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint: %w", err)
	}
	unlock, err := lockDir(sd)
	if err != nil {
		return Checkpoint{}, err
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(sd, journalName)); err == nil {
		return Checkpoint{}, ErrRecoveryNeeded
	}
	var added atomic.Int64
	objects := counting(r.objects, &added)
	s, root, full, err := r.scanProject(ctx, filepath.Clean(projectDir), objects, NewIgnore(opt.Ignore), ignoreKey(opt.Ignore), opt.Progress)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint: scan %s: %w", projectDir, err)
	}
	cp := Checkpoint{Manifest: root, Env: opt.Env, Metrics: opt.Metrics}
	if opt.DB != nil {
		if err := r.snapshotDB(ctx, objects, &cp, opt); err != nil {
			return Checkpoint{}, err
		}
	}
	if opt.Conversation != nil {
		if cp.Conversation, err = objects.Put(ctx, opt.Conversation); err != nil {
			return Checkpoint{}, fmt.Errorf("checkpoint: conversation: %w", err)
		}
	}
	// Change metrics against the parent: only the differing subtrees are read.
	var parent Hash
	if opt.Parent != nil {
		parent = opt.Parent.Manifest
	}
	l := &loader{ctx: ctx, objects: r.objects, mem: s.trees}
	d, err := diffTrees(l, parent, root, &DiffOptions{NoText: false, MaxFileBytes: 1 << 20, MaxBytes: -1}, r.objects, nil)
	if errors.Is(err, ErrObjectNotFound) && parent != "" {
		d, err = Diff{}, nil // the parent was collected: no change metrics
	}
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint: compare with parent: %w", err)
	}
	for _, f := range d.Files {
		switch f.Status {
		case Added:
			cp.Metrics.FilesAdded++
		case Removed:
			cp.Metrics.FilesRemoved++
		case Modified:
			cp.Metrics.FilesModified++
		}
		cp.Metrics.LinesAdded += f.LinesAdded
		cp.Metrics.LinesRemoved += f.LinesRemoved
	}
	cp.Metrics.Files, cp.Metrics.Bytes = s.rootNode.files, s.rootNode.bytes
	cp.Metrics.FilesHashed = len(s.hashed)
	if full {
		// Only a cache: a project out of inodes or space still gets its
		// checkpoint (the next one scans in full).
		if err := saveIndex(filepath.Join(sd, indexName), s.now); err != nil {
			os.Remove(filepath.Join(sd, indexName))
		}
	}
	cp.Metrics.CreateMS = time.Since(start).Milliseconds()
	cp.Metrics.StoredBytes = added.Load()
	if opt.Progress != nil {
		opt.Progress(Progress{Phase: "done", Done: len(s.files), Total: len(s.files)})
	}
	if opt.Commit != nil {
		if err := opt.Commit(ctx, cp); err != nil {
			return Checkpoint{}, err
		}
	}
	return cp, nil
}

// snapshotDB stores the database's snapshot in cp. A database that cannot
// be read (corrupt, or no room for the snapshot) leaves cp without one and
// says why in cp.Metrics.DBError: the files are checkpointed regardless.
func (r *Repo) snapshotDB(ctx context.Context, objects ObjectStore, cp *Checkpoint, opt CreateOptions) error {
	if opt.Progress != nil {
		opt.Progress(Progress{Phase: "database"})
	}
	h, err := putStream(ctx, objects, opt.DB.Snapshot)
	var tables map[string]int64
	if err == nil {
		tables, err = opt.DB.Tables(ctx)
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("checkpoint: database snapshot: %w", err)
		}
		cp.Metrics.DBError = err.Error()
		return nil
	}
	cp.DB, cp.Metrics.DBTables = h, tables
	return nil
}

// ignoreKey tells ignore lists apart (nil is the default list).
func ignoreKey(patterns []string) string {
	if patterns == nil {
		return "default"
	}
	return "custom:" + strings.Join(patterns, "\x00")
}

const (
	indexName   = "index"
	journalName = "restore.json"
	stageName   = "stage"
)

// putStream stores what write produces.
func putStream(ctx context.Context, objects ObjectStore, write func(context.Context, io.Writer) error) (Hash, error) {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := write(ctx, pw)
		pw.CloseWithError(err)
		done <- err
	}()
	h, err := objects.Put(ctx, pr)
	pr.CloseWithError(errors.New("checkpoint: store failed"))
	if werr := <-done; werr != nil {
		return "", werr
	}
	return h, err
}
