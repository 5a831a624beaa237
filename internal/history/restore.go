package history

import (
	"context"
	"fmt"
	"io"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"ecode/internal/checkpoint"
	"ecode/internal/runner"
	"ecode/internal/store"
)

// RestoreResult says what a restore did.
type RestoreResult struct {
	Restored            store.Checkpoint `json:"-"`
	Backup              store.Checkpoint `json:"-"`
	FilesWritten        int              `json:"files_written"`
	DBRestored          bool             `json:"db_restored"`
	DependenciesChanged []string         `json:"dependencies_changed"`
	// DBError says why the database was not restored (the files were).
	DBError string `json:"database_error,omitempty"`
}

// RestoreProgress reports how far a restore is. Phase is "checkpoint"
// (saving the present), "stop" (stopping the sandbox), "files", "database"
// or "restart" (starting the run again); Done counts up to Total (0 while
// unknown).
type RestoreProgress struct {
	Phase string `json:"phase"`
	Done  int    `json:"done"`
	Total int    `json:"total"`
}

// Restore brings the project back to checkpoint id. It first checkpoints
// the present (so the restore can be undone), stops the run (terminals stay:
// the files change in place, under the same directory), restores the files
// (all or nothing across crashes) and the database if withDB, tells open
// editors, and starts the run again if one was running.
func (s *Service) Restore(ctx context.Context, projectID, id, userID string, withDB bool) (RestoreResult, error) {
	return s.RestoreWithProgress(ctx, projectID, id, userID, withDB, nil)
}

// RestoreWithProgress is Restore calling progress, if not nil, as it goes
// (from the calling goroutine only).
func (s *Service) RestoreWithProgress(ctx context.Context, projectID, id, userID string, withDB bool,
	progress func(RestoreProgress)) (_ RestoreResult, err error) {
	ctx, sp := startSpan(ctx, "checkpoint restore", attribute.String("ecode.project_id", projectID), attribute.Bool("ecode.restore.with_db", withDB))
	t0 := time.Now()
	var restored int64
	defer func() { s.observe("restore", sp, t0, restored, err) }()
	var step trace.Span // the span of the step under way
	report := func(phase string, done, total int) {
		if progress != nil {
			progress(RestoreProgress{Phase: phase, Done: done, Total: total})
		}
		if done == 0 && step == nil {
			_, step = startSpan(ctx, "restore "+phase)
		} else if done > 0 && done >= total && step != nil {
			step.End()
			step = nil
		}
	}
	defer func() {
		if step != nil {
			step.End()
		}
	}()
	unlock := s.lock(projectID)
	defer unlock()
	rec, cp, err := s.Get(ctx, projectID, id)
	if err != nil {
		return RestoreResult{}, err
	}
	report("checkpoint", 0, 1)
	backup, err := s.create(ctx, projectID, userID, fmt.Sprintf("Before restoring %q", rec.Message), checkpoint.Metrics{Trigger: "restore", Actor: userID})
	if err != nil {
		return RestoreResult{}, fmt.Errorf("checkpoint the present: %w", err)
	}
	report("checkpoint", 1, 1)
	st := s.runner.RunState(projectID)
	wasRunning := st.State == runner.StateStarting || st.State == runner.StateRunning
	report("stop", 0, 1)
	if _, err := s.runner.StopRun(projectID); err != nil {
		return RestoreResult{}, fmt.Errorf("stop the run: %w", err)
	}
	report("stop", 1, 1)
	// The present was just checkpointed: what the restore replaces may go
	// first when the project has no room left to stage the checkpoint.
	opt := checkpoint.RestoreOptions{Ignore: Ignore, PruneWhenFull: true}
	if withDB && cp.DB != "" {
		if err := s.dbs.Create(ctx, projectID); err != nil {
			return RestoreResult{}, err
		}
		opt.DB = s.dbs.DB(projectID)
	}
	if progress != nil {
		report("files", 0, 0) // the total is known once the restore has counted
		opt.Progress = func(p checkpoint.Progress) {
			switch p.Phase {
			case "restore":
				report("files", p.Done, p.Total)
			case "database":
				report("database", 0, 1)
			}
		}
	}
	// From the mark on, a crash is recovered before the project is used
	// again: the files, the database and the conversation all come back,
	// or none of them does.
	opt.Note = id
	opt.Finish = func(ctx context.Context, _ string) error { return s.restoreConversation(ctx, projectID, cp) }
	if err := s.mark(projectID, restoreMark{Checkpoint: id, WithDB: opt.DB != nil}); err != nil {
		return RestoreResult{}, err
	}
	s.ForgetFolder(ctx, projectID) // opens from now on run Guard, which waits for this restore (on every node)
	restored = cp.Metrics.Bytes
	res, err := s.repo.Restore(ctx, s.files.Dir(projectID), cp, opt)
	if err != nil {
		if !checkpoint.Pending(s.files.Dir(projectID)) {
			s.unmark(projectID) // rolled back: nothing changed
		}
		return RestoreResult{}, fmt.Errorf("restore %s: %w", id, err)
	}
	if err := s.unmark(projectID); err != nil {
		return RestoreResult{}, err
	}
	if res.DBRestored {
		report("database", 1, 1)
	}
	s.Changed(ctx, projectID)
	if wasRunning {
		report("restart", 0, 1)
		if _, err := s.runner.StartRun(context.WithoutCancel(ctx), projectID); err != nil {
			return RestoreResult{}, fmt.Errorf("restart the run: %w", err)
		}
		report("restart", 1, 1)
	}
	deps := res.DependencyFiles
	if deps == nil {
		deps = []string{}
	}
	return RestoreResult{Restored: rec, Backup: backup, FilesWritten: res.FilesWritten, DBRestored: res.DBRestored,
		DependenciesChanged: deps, DBError: res.DBError}, nil
}

// Fork restores checkpoint id of a project into another, new and empty,
// project (files and database) and records its first checkpoint.
func (s *Service) Fork(ctx context.Context, projectID, id, newProjectID, userID string) error {
	rec, cp, err := s.Get(ctx, projectID, id)
	if err != nil {
		return err
	}
	opt := checkpoint.RestoreOptions{Ignore: Ignore}
	if cp.DB != "" {
		if err := s.dbs.Create(ctx, newProjectID); err != nil {
			return err
		}
		opt.DB = s.dbs.DB(newProjectID)
	}
	if _, err := s.repo.Restore(ctx, s.files.Dir(newProjectID), cp, opt); err != nil {
		return fmt.Errorf("fork %s: %w", id, err)
	}
	_, err = s.Create(ctx, newProjectID, userID, "fork", fmt.Sprintf("Forked from %q", rec.Message))
	return err
}

// List returns a project's checkpoints, newest first.
func (s *Service) List(ctx context.Context, projectID string) ([]store.Checkpoint, error) {
	return s.store.ListCheckpoints(ctx, projectID, 200)
}

// restoreConversation puts the agent conversation back as it was at the
// checkpoint (empty if the agent had not been used yet).
func (s *Service) restoreConversation(ctx context.Context, projectID string, cp checkpoint.Checkpoint) error {
	data := []byte("{}")
	if cp.Conversation != "" {
		rc, err := s.repo.Objects().Get(ctx, cp.Conversation)
		if err != nil {
			return fmt.Errorf("read the conversation: %w", err)
		}
		defer rc.Close()
		if data, err = io.ReadAll(io.LimitReader(rc, 256<<20)); err != nil {
			return fmt.Errorf("read the conversation: %w", err)
		}
	} else if prev, err := s.store.AgentSession(ctx, projectID); err != nil || prev == nil {
		return err // no conversation then, none now
	}
	return s.store.SaveAgentSession(ctx, projectID, data, s.now())
}
