// Package projects owns the life of a project: creating it from a template,
// forking it from a checkpoint, renaming it, transferring it to another
// owner and deleting it. Deleting ends everything that belongs to the
// project in a fixed order (see Delete) and survives a crash half-way: a
// project marked as being deleted is invisible to users, and its deletion
// is finished when the server starts again (ResumeDeletions).
package projects

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"ecode/internal/agentrun"
	"ecode/internal/auth"
	"ecode/internal/collab"
	"ecode/internal/history"
	"ecode/internal/jobs"
	"ecode/internal/projectdb"
	"ecode/internal/revoke"
	"ecode/internal/runner"
	"ecode/internal/store"
	"ecode/internal/workspace"
)

// Deps are what the service acts on; all are required.
type Deps struct {
	Store   *store.Store
	Files   *workspace.Files
	DBs     *projectdb.Manager
	History *history.Service
	Runner  *runner.Manager
	Collab  *collab.Hub
	Agent   *agentrun.Service
	Revoke  *revoke.Bus // revocations reach every node: caches drop, connections end
	Log     *slog.Logger
	Now     func() time.Time
	// Jobs, when set, queues a DeleteJob in the transaction that marks a
	// project for deletion: a deletion that fails or is cut off by a crash
	// is finished by the queue, retried with backoff.
	Jobs *jobs.Client
	// AfterStep, when set, is called after each step of a deletion; an
	// error stops the deletion there, as a crash would (fault injection
	// for tests).
	AfterStep func(projectID string, step DeleteStep) error
	// Deploy stops the project's published app (package deploy).
	Deploy interface{ StopProject(projectID string) error }
}

// Service runs projects' lives.
type Service struct{ d Deps }

// New builds the service.
func New(d Deps) *Service { return &Service{d: d} }

// Create makes a project owned by ownerID from a template: its files, its
// database, then its rows, so a failure leaves none of them behind.
func (s *Service) Create(ctx context.Context, ownerID, name, template string) (store.Project, error) {
	if !workspace.TemplateExists(template) {
		return store.Project{}, fmt.Errorf("unknown template %q", template)
	}
	now := s.d.Now()
	p := store.Project{ID: auth.NewID(), Name: name, Template: template, OwnerID: ownerID, CreatedAt: now, UpdatedAt: now}
	err := s.makeFiles(p.ID, name, template)
	if err == nil {
		err = s.d.DBs.Create(ctx, p.ID)
	}
	if err == nil {
		p, err = s.d.Store.CreateProject(ctx, p)
	}
	if err != nil {
		s.undo(p.ID)
		return store.Project{}, err
	}
	return p, nil
}

// makeFiles creates the project's folder (and volume) with a template's
// files ("" for none); a template's package.json is named after the project.
func (s *Service) makeFiles(projectID, name, template string) error {
	files, err := s.d.Files.Create(projectID)
	if err != nil {
		return fmt.Errorf("create project folder: %w", err)
	}
	defer files.Close()
	if template == "" {
		return nil
	}
	if err := files.CopyTemplate(template); err != nil {
		return err
	}
	return files.NamePackage(name)
}

// undo removes what a failed create or fork made (the rows are not there).
func (s *Service) undo(projectID string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.d.DBs.Drop(ctx, projectID); err != nil {
		s.d.Log.Error("drop half-created project database", "project_id", projectID, "err", err)
	}
	if err := s.d.Files.Remove(projectID); err != nil {
		s.d.Log.Error("remove half-created project", "project_id", projectID, "err", err)
	}
}

// Fork makes a new project owned by ownerID from checkpoint checkpointID of
// project src: its files and database as they were then, and a first
// checkpoint. A failure leaves nothing behind.
func (s *Service) Fork(ctx context.Context, src store.Project, checkpointID, ownerID, name string) (store.Project, error) {
	if _, _, err := s.d.History.Get(ctx, src.ID, checkpointID); err != nil {
		return store.Project{}, err
	}
	now := s.d.Now()
	p := store.Project{ID: auth.NewID(), Name: name, Template: src.Template, OwnerID: ownerID, CreatedAt: now, UpdatedAt: now}
	if err := s.makeFiles(p.ID, "", ""); err != nil {
		s.undo(p.ID)
		return store.Project{}, err
	}
	p, err := s.d.Store.CreateProject(ctx, p)
	if err != nil {
		s.undo(p.ID)
		return store.Project{}, err
	}
	err = s.d.History.Fork(ctx, src.ID, checkpointID, p.ID, ownerID)
	if err == nil {
		err = s.d.DBs.Create(ctx, p.ID) // a checkpoint without a database forks into an empty one
	}
	if err != nil {
		if derr := s.Delete(context.WithoutCancel(ctx), p.ID); derr != nil {
			s.d.Log.Error("delete half-forked project", "project_id", p.ID, "err", derr)
		}
		return store.Project{}, err
	}
	return p, nil
}

// CreateFrom makes project id owned by ownerID with the files under dir (a
// finished import's staging folder): its files, its database, then its rows,
// so a failure leaves none of them behind. The caller chose id beforehand
// (see Discard).
func (s *Service) CreateFrom(ctx context.Context, id, ownerID, name, dir string) (store.Project, error) {
	now := s.d.Now()
	p := store.Project{ID: id, Name: name, OwnerID: ownerID, CreatedAt: now, UpdatedAt: now}
	files, err := s.d.Files.Create(p.ID)
	if err == nil {
		err = files.CopyIn(dir)
		files.Close()
	}
	if err == nil {
		err = s.d.DBs.Create(ctx, p.ID)
	}
	if err == nil {
		p, err = s.d.Store.CreateProject(ctx, p)
	}
	if err != nil {
		s.undo(p.ID)
		return store.Project{}, err
	}
	return p, nil
}

// Discard removes whatever exists of project id, which an interrupted
// CreateFrom (a crash) may have left: the whole project when its rows were
// made, otherwise its files and database.
func (s *Service) Discard(ctx context.Context, id string) error {
	if err := s.Delete(ctx, id); err != nil { // no rows: nothing to do here
		return err
	}
	s.undo(id)
	return nil
}

// Rename changes a project's name and returns the time of the change.
func (s *Service) Rename(ctx context.Context, projectID, name string) (time.Time, error) {
	now := s.d.Now()
	if err := s.d.Store.RenameProject(ctx, projectID, name, now); err != nil {
		return now, err
	}
	return now, s.d.Revoke.Publish(ctx, revoke.Event{ProjectID: projectID})
}

// Transfer makes newOwnerID the owner; the previous owner stays as an
// editor, and what they had open (authorized as the owner) is ended.
func (s *Service) Transfer(ctx context.Context, p store.Project, newOwnerID string) error {
	if err := s.d.Store.TransferProject(ctx, p.ID, newOwnerID, s.d.Now()); err != nil {
		return err
	}
	for _, uid := range []string{p.OwnerID, newOwnerID} {
		if err := s.d.Revoke.Publish(ctx, revoke.Event{ProjectID: p.ID, UserID: uid, End: true}); err != nil {
			s.d.Log.Error("tell other nodes about a transfer", "project_id", p.ID, "err", err)
		}
	}
	return nil
}

// DeleteStep names a step of a deletion, in order.
type DeleteStep string

// The steps of a deletion.
const (
	StepMarked      DeleteStep = "marked"      // invisible to everyone from here on
	StepConnections DeleteStep = "connections" // streams and WebSockets ended (4410)
	StepAgent       DeleteStep = "agent"       // the agent's turn stopped and recorded
	StepSandbox     DeleteStep = "sandbox"     // runs, terminals and the sandbox ended
	StepDeployment  DeleteStep = "deployment"  // the published app's instances stopped, its releases' files removed
	StepCollab      DeleteStep = "collab"      // collaboration rooms stopped
	StepCheckpoints DeleteStep = "checkpoints" // checkpoint state and change tracking let go
	StepDatabase    DeleteStep = "database"    // the project database dropped
	StepFiles       DeleteStep = "files"       // the volume unmounted and removed, the files gone
	StepRows        DeleteStep = "rows"        // the project's rows deleted
)

// Delete deletes a project and everything that belongs to it, in this
// order: it is marked (so nobody sees it any more), then its open
// connections end, the agent's turn stops, the sandbox with its runs and
// terminals ends, the published app's instances stop, collaboration rooms
// stop, checkpoint state is let go, the project database is dropped, the
// files and volume are removed, and last the rows (records of checkpoints,
// documents and turns go with them).
// Every step is idempotent: deleting again, or ResumeDeletions after a
// crash, finishes the work. A project that does not exist is not an error.
func (s *Service) Delete(ctx context.Context, projectID string) error {
	err := s.d.Store.InTx(ctx, func(tx *store.Store) error {
		if err := tx.MarkProjectDeleting(ctx, projectID, s.d.Now()); err != nil || s.d.Jobs == nil {
			return err
		}
		_, err := s.d.Jobs.EnqueueTx(ctx, tx, DeleteJob{ProjectID: projectID},
			&jobs.Opts{Unique: true, At: time.Now().Add(DeleteJobDelay)})
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if s.d.Jobs != nil {
		s.d.Jobs.Added()
	}
	return s.finishDelete(ctx, projectID)
}

func (s *Service) finishDelete(ctx context.Context, id string) error {
	steps := []struct {
		name DeleteStep
		do   func() error
	}{
		// Marked: every node forgets the project (its caches would still
		// answer members); the next step also ends what depends on it.
		{StepMarked, func() error { return s.tell(ctx, revoke.Event{ProjectID: id}) }},
		{StepConnections, func() error { return s.tell(ctx, revoke.Event{ProjectID: id, End: true}) }},
		{StepAgent, func() error { return s.d.Agent.StopAndWait(ctx, id) }},
		{StepSandbox, func() error { return s.d.Runner.Stop(id) }},
		{StepDeployment, func() error { return s.d.Deploy.StopProject(id) }},
		{StepCollab, func() error { return s.d.Collab.CloseProject(ctx, id) }},
		{StepCheckpoints, func() error { return s.d.History.Forget(id) }},
		{StepDatabase, func() error { return s.d.DBs.Drop(ctx, id) }},
		{StepFiles, func() error { return s.d.Files.Remove(id) }},
		{StepRows, func() error { return ignoreNotFound(s.d.Store.DeleteProject(ctx, id)) }},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			return fmt.Errorf("delete project %s: %s: %w", id, st.name, err)
		}
		if s.d.AfterStep != nil {
			if err := s.d.AfterStep(id, st.name); err != nil {
				return err
			}
		}
	}
	return nil
}

// tell publishes a deletion's event to every node. Redis being unreachable
// does not stop the deletion: the bus publishes the event again once Redis
// is back, and meanwhile the other nodes trust no cache and re-check their
// live requests against the store, where the project is already marked
// (theirs end with 4410 within --live-recheck).
func (s *Service) tell(ctx context.Context, e revoke.Event) error {
	err := s.d.Revoke.Publish(ctx, e)
	if errors.Is(err, revoke.ErrDeferred) {
		s.d.Log.Warn("deleting a project while redis is unreachable: the other nodes are told once it is back", "project_id", e.ProjectID, "err", err)
		return nil
	}
	return err
}

func ignoreNotFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// DeleteJob finishes the deletion of a project (FinishDeletion), queued
// with the mark; it waits DeleteJobDelay so that it does not race the
// deletion the request runs itself.
type DeleteJob struct {
	ProjectID string `json:"project_id"`
}

// Kind names the job.
func (DeleteJob) Kind() string { return "project_delete" }

// DeleteJobDelay is how long a DeleteJob waits before it runs.
const DeleteJobDelay = time.Minute

// FinishDeletion runs a DeleteJob: the deletion's steps again, if the
// project is still being deleted.
func (s *Service) FinishDeletion(ctx context.Context, j DeleteJob, attempt int) error {
	ids, err := s.d.Store.ProjectsBeingDeleted(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if id == j.ProjectID {
			s.d.Log.Info("finishing a project deletion", "project_id", id, "attempt", attempt)
			return s.finishDelete(ctx, id)
		}
	}
	return nil
}

// ResumeDeletions finishes the deletions a previous process left half-way.
// The composition root runs it at start, before the server takes requests.
func (s *Service) ResumeDeletions(ctx context.Context) error {
	ids, err := s.d.Store.ProjectsBeingDeleted(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		s.d.Log.Info("finishing an interrupted project deletion", "project_id", id)
		errs = append(errs, s.finishDelete(ctx, id))
	}
	return errors.Join(errs...)
}
