package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"ecode/internal/checkpoint"
	"ecode/internal/store"
)

// A restore leaves a mark outside the project's files (and outside its
// volume, so that finding marks needs no mount) from just before its
// files change until it has finished (files, database, conversation). A
// project with a mark, or with a restore journal, is recovered before
// anything reads it, writes it or runs it: at server start (Recover), and
// on first access (Guard, which workspace.Files and the runner call).

// restoreMark is what a mark records.
type restoreMark struct {
	Checkpoint string `json:"checkpoint"`
	WithDB     bool   `json:"with_db"`
}

// markDir holds the marks: beside the projects, in the data directory.
func (s *Service) markDir() string {
	return filepath.Join(filepath.Dir(s.files.Area("x")), ".restoring")
}

func (s *Service) markPath(projectID string) string { return filepath.Join(s.markDir(), projectID) }

// mark records that a restore of the project is under way (synced).
func (s *Service) mark(projectID string, m restoreMark) error {
	if err := os.MkdirAll(s.markDir(), 0o700); err != nil {
		return err
	}
	b, _ := json.Marshal(m)
	p := s.markPath(projectID)
	f, err := os.OpenFile(p+".tmp", os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(p+".tmp", p)
	}
	if err != nil {
		return fmt.Errorf("mark the restore: %w", err)
	}
	return syncPath(s.markDir())
}

func (s *Service) unmark(projectID string) error {
	err := os.Remove(s.markPath(projectID))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func (s *Service) marked(projectID string) bool {
	_, err := os.Stat(s.markPath(projectID))
	return err == nil
}

func syncPath(p string) error {
	d, err := os.Open(p)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// needsRecovery reports whether the project has an unfinished restore.
func (s *Service) needsRecovery(projectID string) bool {
	return s.marked(projectID) || checkpoint.Pending(s.files.Dir(projectID))
}

// Guard finishes (or rolls back) an interrupted restore of the project
// before it is used; it costs two stats when there is none. Call it after
// the project's volume is attached. It waits for a restore in progress in
// this process to end.
func (s *Service) Guard(projectID string) error {
	if !s.needsRecovery(projectID) {
		return nil
	}
	unlock := s.lock(projectID)
	defer unlock()
	return s.recoverLocked(context.Background(), projectID)
}

// recoverLocked recovers the project's interrupted restore, if any; the
// caller holds the project's lock. A restore that had committed is rolled
// forward: files, then the database, then the agent conversation; one that
// had not is rolled back. Either way the project is wholly one version.
func (s *Service) recoverLocked(ctx context.Context, projectID string) error {
	if !s.needsRecovery(projectID) {
		return nil
	}
	dir := s.files.Dir(projectID)
	opt := checkpoint.RecoverOptions{DB: s.dbs.DB(projectID)}
	opt.Finish = func(ctx context.Context, id string) error { return s.finishRestore(ctx, projectID, id) }
	rec, dbErr, err := s.repo.RecoverWith(ctx, dir, opt)
	if err != nil {
		return fmt.Errorf("recover the interrupted restore of %s: %w", projectID, err)
	}
	if dbErr != "" {
		s.Log.Warn("an interrupted restore was finished without its database", "project_id", projectID, "err", dbErr)
	}
	if err := s.unmark(projectID); err != nil {
		return err
	}
	if rec != checkpoint.NothingToRecover {
		s.Log.Info("interrupted restore recovered", "project_id", projectID, "outcome", string(rec))
		s.Changed(ctx, projectID) // after the unmark: editors reload through Guard
	}
	return nil
}

// finishRestore is the last step of restoring checkpoint id (the
// journal's note): the agent conversation as it was.
func (s *Service) finishRestore(ctx context.Context, projectID, id string) error {
	if id == "" {
		return nil // a fork: the new project has no conversation yet
	}
	_, cp, err := s.Get(ctx, projectID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted since: its conversation is gone too
	}
	if err != nil {
		return err
	}
	return s.restoreConversation(ctx, projectID, cp)
}

// Recover finishes every restore a crash interrupted: the projects with a
// mark, and those whose files are at hand (no volume to mount) with a
// journal. Call it at server start, before the HTTP server and any sandbox
// start. A project it cannot recover is logged and left to Guard, which
// keeps it from being used until recovery succeeds.
func (s *Service) Recover(ctx context.Context) error {
	ids := map[string]bool{}
	marks, err := os.ReadDir(s.markDir())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, m := range marks {
		if filepath.Ext(m.Name()) == ".tmp" { // a mark half written: its restore had not begun
			os.Remove(filepath.Join(s.markDir(), m.Name()))
			continue
		}
		ids[m.Name()] = true
	}
	projects, err := os.ReadDir(filepath.Dir(s.markDir()))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, p := range projects {
		if p.IsDir() && checkpoint.Pending(s.files.Dir(p.Name())) {
			ids[p.Name()] = true
		}
	}
	for id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := os.Stat(s.files.Area(id)); errors.Is(err, fs.ErrNotExist) {
			s.unmark(id) // the project is gone
			continue
		}
		// Opening the project attaches its volume, then runs Guard.
		p, err := s.files.Project(id)
		if err != nil {
			s.Log.Error("recover an interrupted restore", "project_id", id, "err", err)
			continue
		}
		p.Close()
	}
	return nil
}

// Prepare makes the project ready to run: its volume attached and an
// interrupted restore recovered (the runner calls it before a sandbox
// opens).
func (s *Service) Prepare(projectID string) error {
	p, err := s.files.Project(projectID)
	if err != nil {
		return err
	}
	return p.Close()
}
