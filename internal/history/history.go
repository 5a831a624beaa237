// Package history is the checkpoint timeline of projects: it records
// checkpoints (files, the project's database, the environment) in the
// store, restores them with the project's sandbox stopped and open editors
// told, and forks projects from them. The storage format and the atomic
// restore are package checkpoint's.
package history

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"ecode/internal/auth"
	"ecode/internal/checkpoint"
	"ecode/internal/projectdb"
	"ecode/internal/runconfig"
	"ecode/internal/runner"
	"ecode/internal/store"
	"ecode/internal/workspace"
)

// Ignore is what checkpoints leave out: checkpoint.DefaultIgnore and the
// project database's files (taken through the database instead).
var Ignore = append(append([]string{}, checkpoint.DefaultIgnore...), projectdb.Files...)

// Service records, restores and forks checkpoints.
type Service struct {
	store  *store.Store
	repo   *checkpoint.Repo
	files  *workspace.Files
	runner *runner.Manager
	// Changed tells open editors that a project's files changed on disk.
	Changed func(ctx context.Context, projectID string)
	// Flush writes what editors typed to disk before a checkpoint.
	Flush func(ctx context.Context, projectID string)
	// ForgetFolder drops the project's open folder when a restore begins, so
	// that opens from then on run Guard; on a cluster it must reach every
	// node (package app publishes it on the revocation bus). By default it
	// drops this node's only.
	ForgetFolder func(ctx context.Context, projectID string)
	now          func() time.Time
	dbs          *projectdb.Manager
	retention    checkpoint.RetentionPolicy
	// Log gets what recovery and the disk checks report.
	Log *slog.Logger

	spaceCheck             func() error // see Space
	projectDisk, allowance int64

	mu    sync.Mutex
	locks map[string]*sync.Mutex
	// SecretSet, when set, gives the project's secret names and versions
	// for a checkpoint's environment (package secrets).
	SecretSet func(ctx context.Context, projectID string) ([]checkpoint.SecretRef, error)
	// Observe, when set, is told of each checkpoint ("checkpoint") and
	// restore ("restore"): how long it took, the bytes it stored or
	// restored, and its error.
	Observe func(op string, d time.Duration, bytes int64, err error)
}

// New builds the service. It guards files: a project whose restore was
// interrupted is recovered before it is opened (see Guard).
func New(st *store.Store, repo *checkpoint.Repo, files *workspace.Files, dbs *projectdb.Manager, runs *runner.Manager, now func() time.Time) *Service {
	s := &Service{store: st, repo: repo, files: files, dbs: dbs, runner: runs, now: now, locks: map[string]*sync.Mutex{},
		retention: DefaultRetention(), Log: slog.Default(),
		Changed: func(context.Context, string) {}, Flush: func(context.Context, string) {}}
	s.ForgetFolder = func(_ context.Context, projectID string) { files.Forget(projectID) }
	files.SetGuard(s.Guard)
	return s
}

// lock serialises checkpoint work on one project.
func (s *Service) lock(projectID string) func() {
	s.mu.Lock()
	l, ok := s.locks[projectID]
	if !ok {
		l = &sync.Mutex{}
		s.locks[projectID] = l
	}
	s.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// Create records a checkpoint of the project as it is now.
func (s *Service) Create(ctx context.Context, projectID, userID, trigger, message string) (store.Checkpoint, error) {
	return s.CreateWithCost(ctx, projectID, userID, trigger, message, 0, 0)
}

// CreateWithCost records a checkpoint of work that cost tokens (of a model)
// and took execution time, both kept in its metrics (an agent's turn).
func (s *Service) CreateWithCost(ctx context.Context, projectID, userID, trigger, message string, tokens int64, execution time.Duration) (store.Checkpoint, error) {
	unlock := s.lock(projectID)
	defer unlock()
	m := checkpoint.Metrics{Trigger: trigger, Actor: userID, TokensUsed: tokens, ExecutionMS: execution.Milliseconds()}
	return s.create(ctx, projectID, userID, message, m)
}

// create checkpoints the project: its files, its database, its environment
// and the agent conversation so far.
func (s *Service) create(ctx context.Context, projectID, userID, message string, metrics checkpoint.Metrics) (rec store.Checkpoint, err error) {
	ctx, sp := startSpan(ctx, "checkpoint create", attribute.String("ecode.project_id", projectID), attribute.String("ecode.checkpoint.trigger", metrics.Trigger))
	t0 := time.Now()
	var stored int64
	defer func() { s.observe("checkpoint", sp, t0, stored, err) }()
	trigger := metrics.Trigger
	if err := s.admit(ctx, projectID, trigger); err != nil {
		return store.Checkpoint{}, err
	}
	s.Flush(ctx, projectID)
	var conversation io.Reader
	if sess, err := s.store.AgentSession(ctx, projectID); err != nil {
		return store.Checkpoint{}, err
	} else if sess != nil {
		conversation = bytes.NewReader(sess)
	}
	if err := s.recoverLocked(ctx, projectID); err != nil {
		return store.Checkpoint{}, err
	}
	var parent *checkpoint.Checkpoint
	prev, err := s.store.LatestCheckpoint(ctx, projectID)
	if err == nil {
		p, err := fromRecord(prev)
		if err != nil {
			return store.Checkpoint{}, err
		}
		parent = &p
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.Checkpoint{}, err
	}
	opt := checkpoint.CreateOptions{Parent: parent, Conversation: conversation, Ignore: Ignore,
		Env:     checkpoint.Env{RunConfig: s.runConfig(projectID), Secrets: s.secretSet(ctx, projectID)},
		Metrics: metrics}
	if s.dbs.Exists(projectID) {
		opt.DB = s.dbs.DB(projectID)
	}
	opt.Commit = func(ctx context.Context, cp checkpoint.Checkpoint) error {
		stored = cp.Metrics.StoredBytes
		rec = toRecord(cp, projectID, userID, trigger, message, s.now())
		if prev.ID != "" {
			rec.ParentID = prev.ID
		}
		return s.store.CreateCheckpoint(ctx, rec)
	}
	if _, err := s.repo.Create(ctx, s.files.Dir(projectID), opt); err != nil {
		return store.Checkpoint{}, fmt.Errorf("checkpoint %s: %w", projectID, err)
	}
	if err := s.retain(ctx, projectID); err != nil {
		return rec, fmt.Errorf("apply checkpoint retention: %w", err)
	}
	return rec, nil
}

func (s *Service) runConfig(projectID string) string {
	b, err := os.ReadFile(filepath.Join(s.files.Dir(projectID), runconfig.FileName))
	if err != nil {
		return ""
	}
	return string(b)
}

// record ↔ checkpoint conversions.
func toRecord(cp checkpoint.Checkpoint, projectID, userID, trigger, message string, at time.Time) store.Checkpoint {
	env, _ := json.Marshal(cp.Env)
	metrics, _ := json.Marshal(cp.Metrics)
	return store.Checkpoint{ID: auth.NewID(), ProjectID: projectID, Message: message, CreatedBy: userID, Trigger: trigger,
		ManifestHash: string(cp.Manifest), DBHash: string(cp.DB), ConversationHash: string(cp.Conversation),
		Env: env, Metrics: metrics, CreatedAt: at}
}

func fromRecord(r store.Checkpoint) (checkpoint.Checkpoint, error) {
	cp := checkpoint.Checkpoint{Manifest: checkpoint.Hash(r.ManifestHash), DB: checkpoint.Hash(r.DBHash),
		Conversation: checkpoint.Hash(r.ConversationHash)}
	if len(r.Env) > 0 {
		if err := json.Unmarshal(r.Env, &cp.Env); err != nil {
			return cp, err
		}
	}
	if len(r.Metrics) > 0 {
		if err := json.Unmarshal(r.Metrics, &cp.Metrics); err != nil {
			return cp, err
		}
	}
	return cp, nil
}

// Get returns one checkpoint of a project.
func (s *Service) Get(ctx context.Context, projectID, id string) (store.Checkpoint, checkpoint.Checkpoint, error) {
	rec, err := s.store.Checkpoint(ctx, projectID, id)
	if err != nil {
		return rec, checkpoint.Checkpoint{}, err
	}
	cp, err := fromRecord(rec)
	return rec, cp, err
}

// Diff compares a checkpoint with its parent ("previous") or with the
// project as it is now ("current").
func (s *Service) Diff(ctx context.Context, projectID, id, against string) (checkpoint.Diff, error) {
	rec, cp, err := s.Get(ctx, projectID, id)
	if err != nil {
		return checkpoint.Diff{}, err
	}
	opt := checkpoint.DiffOptions{Ignore: Ignore}
	if against == "current" {
		s.Flush(ctx, projectID)
		now := checkpoint.Source{Dir: s.files.Dir(projectID)}
		if s.dbs.Exists(projectID) {
			now.DB = s.dbs.DB(projectID)
		}
		return s.repo.Diff(ctx, checkpoint.Source{Checkpoint: &cp}, now, opt)
	}
	from := checkpoint.Source{}
	if rec.ParentID != "" {
		_, parent, err := s.Get(ctx, projectID, rec.ParentID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return checkpoint.Diff{}, err
		}
		if err == nil {
			from.Checkpoint = &parent
		}
	}
	return s.repo.Diff(ctx, from, checkpoint.Source{Checkpoint: &cp}, opt)
}

// FileEntry is a file of a checkpoint.
type FileEntry struct {
	Path string `json:"path"`
	Size int64  `json:"size,omitempty"` // not known yet: left out
	Mode uint32 `json:"mode"`
	hash checkpoint.Hash
}

// Files lists a checkpoint's files.
func (s *Service) Files(ctx context.Context, projectID, id string) ([]FileEntry, error) {
	_, cp, err := s.Get(ctx, projectID, id)
	if err != nil {
		return nil, err
	}
	d, err := s.repo.Diff(ctx, checkpoint.Source{}, checkpoint.Source{Checkpoint: &cp},
		checkpoint.DiffOptions{NoText: true, Ignore: Ignore})
	if err != nil {
		return nil, err
	}
	out := make([]FileEntry, 0, len(d.Files))
	for _, f := range d.Files {
		out = append(out, FileEntry{Path: f.Path, Mode: f.NewMode, hash: f.NewHash})
	}
	return out, nil
}

// ReadFile returns a file's content as it was in a checkpoint.
func (s *Service) ReadFile(ctx context.Context, projectID, id, name string) ([]byte, error) {
	clean, err := workspace.CleanPath(name)
	if err != nil {
		return nil, err
	}
	files, err := s.Files(ctx, projectID, id)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if f.Path == clean && f.hash != "" {
			rc, err := s.repo.Objects().Get(ctx, f.hash)
			if err != nil {
				return nil, err
			}
			defer rc.Close()
			var b bytes.Buffer
			_, err = io.Copy(&b, io.LimitReader(rc, 64<<20))
			return b.Bytes(), err
		}
	}
	return nil, fmt.Errorf("%s in checkpoint %s: %w", path.Clean(clean), id, store.ErrNotFound)
}

// Forget lets go of a deleted project's checkpoint state and change
// tracking (its records go with the project's rows, its objects with the
// next GC), and of a restore mark it may have.
func (s *Service) Forget(projectID string) error {
	if err := s.repo.Forget(s.files.Dir(projectID)); err != nil {
		return err
	}
	return s.unmark(projectID)
}
