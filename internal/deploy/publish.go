package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"ecode/internal/checkpoint"
	"ecode/internal/runconfig"
	"ecode/internal/sandbox"
	"ecode/internal/store"
)

// ErrNotActivatable means the release cannot go live (it failed, or its
// files are gone).
var ErrNotActivatable = errors.New("deploy: this release did not build, so it cannot be activated")

// PublishOptions are a publish's choices.
type PublishOptions struct {
	// Kind "" keeps the deployment's kind (server at first).
	Kind string
	// Schedule is a scheduled deployment's cron schedule ("" keeps it; a
	// first scheduled publish needs one).
	Schedule string
	// Instances is how many instances a server or autoscale release runs
	// (0 keeps the count; 1 at first).
	Instances int
	// Size is the size of the deployment's sandboxes ("" keeps it; the
	// default at first); the new release starts at it.
	Size string
	// Database is how the production database starts at the first publish:
	// DatabaseEmpty (default) or DatabaseCopy; later publishes ignore it.
	Database string
}

// ErrNoSchedule means a scheduled deployment was published without a schedule.
var ErrNoSchedule = fmt.Errorf("%w: a scheduled deployment needs a schedule", ErrBadSchedule)

// Publish checkpoints the project and makes a new release of it, built and
// started in the background; the live release keeps serving until the new
// one is healthy.
func (s *Service) Publish(ctx context.Context, projectID, projectName, userID string, o PublishOptions) (store.Release, store.Deployment, error) {
	if o.Instances < 0 || o.Instances > MaxInstances {
		return store.Release{}, store.Deployment{}, ErrBadInstances
	}
	if o.Schedule != "" {
		if _, err := ParseSchedule(o.Schedule); err != nil {
			return store.Release{}, store.Deployment{}, err
		}
	} else if o.Kind == KindScheduled {
		if dep, err := s.d.Store.DeploymentForProject(ctx, projectID); err != nil || dep.Schedule == "" {
			return store.Release{}, dep, ErrNoSchedule
		}
	}
	if o.Size != "" {
		if err := s.checkSize(ctx, projectID, o.Size); err != nil {
			return store.Release{}, store.Deployment{}, err
		}
	}
	dep, err := s.ensureDeployment(ctx, projectID, projectName, userID, o.Kind)
	if err != nil {
		return store.Release{}, dep, err
	}
	if o.Size != "" && o.Size != dep.Size {
		if err := s.d.Store.SetDeploymentSize(ctx, projectID, o.Size, s.d.Now()); err != nil {
			return store.Release{}, dep, err
		}
		dep.Size = o.Size
	}
	if err := s.setSchedule(ctx, &dep, o.Schedule); err != nil {
		return store.Release{}, dep, err
	}
	if err := s.ensureData(ctx, projectID, o.Database); err != nil {
		return store.Release{}, dep, fmt.Errorf("production database: %w", err)
	}
	if o.Instances > 0 && o.Instances != dep.Instances {
		if err := s.d.Store.SetDeploymentInstances(ctx, projectID, o.Instances, s.d.Now()); err != nil {
			return store.Release{}, dep, err
		}
		dep.Instances = o.Instances
	}
	rec, err := s.d.Checkpoints.Create(ctx, projectID, userID, "deploy", "Published")
	if err != nil {
		return store.Release{}, dep, fmt.Errorf("checkpoint the project: %w", err)
	}
	_, cp, err := s.d.Checkpoints.Get(ctx, projectID, rec.ID)
	if err != nil {
		return store.Release{}, dep, err
	}
	now := s.d.Now()
	relID := newID()
	if err := s.snapshotData(ctx, projectID, relID); err != nil {
		return store.Release{}, dep, fmt.Errorf("snapshot the production database: %w", err)
	}
	rel := store.Release{ID: relID, ProjectID: projectID, CheckpointID: rec.ID, Kind: dep.Kind, Status: StatusBuilding,
		RunConfig: cp.Env.RunConfig, CreatedBy: userID, CreatedAt: now, UpdatedAt: now}
	if err := s.d.Store.CreateRelease(ctx, rel); err != nil {
		return store.Release{}, dep, err
	}
	if !s.spawn(func() { s.build(s.ctx, rel, cp) }) {
		return store.Release{}, dep, sandbox.ErrClosed
	}
	s.notifyChanged()
	return rel, dep, nil
}

// spawn runs fn in a goroutine the service waits for at Close; false once closed.
func (s *Service) spawn(fn func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Go(fn)
	return true
}

// setSchedule records a new schedule on the deployment, its due times
// counted from now; a scheduled deployment must end up with one.
func (s *Service) setSchedule(ctx context.Context, dep *store.Deployment, schedule string) error {
	schedule = strings.TrimSpace(schedule)
	if schedule == "" || schedule == dep.Schedule {
		if dep.Kind == KindScheduled && dep.Schedule == "" {
			return ErrNoSchedule
		}
		return nil
	}
	now := s.d.Now()
	if err := s.d.Store.SetDeploymentSchedule(ctx, dep.ProjectID, schedule, now, now); err != nil {
		return err
	}
	dep.Schedule, dep.ScheduleCheckedAt = schedule, now
	return nil
}

// ensureDeployment returns the project's deployment, creating it at the
// first publish, with kind changed when one is given.
func (s *Service) ensureDeployment(ctx context.Context, projectID, projectName, userID, kind string) (store.Deployment, error) {
	dep, err := s.d.Store.DeploymentForProject(ctx, projectID)
	if errors.Is(err, store.ErrNotFound) {
		now := s.d.Now()
		dep = store.Deployment{ProjectID: projectID, Slug: newSlug(projectName), Kind: kind, CreatedBy: userID, CreatedAt: now, UpdatedAt: now}
		if dep.Kind == "" {
			dep.Kind = KindServer
		}
		if err := s.d.Store.CreateDeployment(ctx, dep); err != nil {
			return dep, err
		}
		return dep, nil
	}
	if err != nil {
		return dep, err
	}
	if kind != "" && kind != dep.Kind {
		if err := s.d.Store.SetDeploymentKind(ctx, projectID, kind, s.d.Now()); err != nil {
			return dep, err
		}
		dep.Kind = kind
	}
	return dep, nil
}

// build restores the checkpoint into the release's folder, runs install
// and build there in a fresh sandbox, then starts the release.
func (s *Service) build(ctx context.Context, rel store.Release, cp checkpoint.Checkpoint) {
	dir := s.releaseDir(rel.ProjectID, rel.ID)
	if err := os.MkdirAll(dir, 0o711); err != nil {
		s.fail(ctx, rel, "make the release folder: "+err.Error())
		return
	}
	log, err := os.Create(filepath.Join(dir, "build.log"))
	if err != nil {
		s.fail(ctx, rel, "open the build log: "+err.Error())
		return
	}
	defer log.Close()
	fmt.Fprintf(log, "$ restore checkpoint %s\n", rel.CheckpointID)
	appDir := filepath.Join(dir, "app")
	if _, err := s.d.Repo.Restore(ctx, appDir, cp, checkpoint.RestoreOptions{Ignore: s.d.Ignore}); err != nil {
		fmt.Fprintf(log, "restore failed: %v\n", err)
		s.fail(ctx, rel, "restore the checkpoint: "+err.Error())
		return
	}
	cfg, err := releaseConfig(rel, appDir)
	if err != nil {
		fmt.Fprintln(log, err)
		s.fail(ctx, rel, err.Error())
		return
	}
	if cfg.Install != "" || cfg.Build != "" {
		if err := s.runBuild(ctx, rel, appDir, cfg, log); err != nil {
			s.fail(ctx, rel, err.Error())
			return
		}
	}
	fmt.Fprintln(log, "build finished")
	if err := s.d.Store.SetReleaseStatus(ctx, rel.ID, StatusStarting, "", s.d.Now()); err != nil {
		s.d.Log.Error("record release status", "release_id", rel.ID, "err", err)
	}
	s.notifyChanged()
	if err := s.goLive(ctx, rel, s.creditsLeft); err != nil {
		fmt.Fprintf(log, "start failed: %v\n", err)
		s.fail(ctx, rel, err.Error())
	}
}

// releaseConfig is the release's run configuration: as published, or
// detected from its files.
func releaseConfig(rel store.Release, appDir string) (runconfig.Config, error) {
	if strings.TrimSpace(rel.RunConfig) != "" {
		return runconfig.Parse([]byte(rel.RunConfig))
	}
	c, _, err := runconfig.Load(os.DirFS(appDir))
	if err != nil && rel.Kind == KindStatic { // static files need no command
		return runconfig.Config{Port: runconfig.DefaultPort}, nil
	}
	return c, err
}

// buildScript runs install then build, each shown before it runs.
const buildScript = `set -e
if [ -n "$ECODE_INSTALL" ]; then printf '$ %s\n' "$ECODE_INSTALL"; sh -c "$ECODE_INSTALL"; fi
if [ -n "$ECODE_BUILD" ]; then printf '$ %s\n' "$ECODE_BUILD"; sh -c "$ECODE_BUILD"; fi
`

// runBuild runs install and build in a sandbox of their own over the
// release's files; its output goes to the build log.
func (s *Service) runBuild(ctx context.Context, rel store.Release, appDir string, cfg runconfig.Config, log *os.File) error {
	ws, err := s.d.Sandbox.Workspace(ctx, "b-"+rel.ID, sandbox.Spec{Dir: appDir, UID: uidFor(rel.ProjectID), Limits: s.sandboxLimits(ctx, rel.ProjectID)})
	if err != nil {
		return fmt.Errorf("open the build sandbox: %w", err)
	}
	defer ws.Close()
	env, mask, err := s.d.Env(ctx, rel.ProjectID, "deploy", append(cfg.EnvList(), "ECODE_INSTALL="+cfg.Install, "ECODE_BUILD="+cfg.Build)...)
	if err != nil {
		return err
	}
	var tail tailBuffer
	sink := mask.Stream(&syncWriter{ws: []io.Writer{log, &tail}})
	bctx, cancel := context.WithTimeout(ctx, s.opts.BuildTimeout)
	defer cancel()
	proc, err := ws.Start(bctx, sandbox.Cmd{Args: []string{"/bin/sh", "-c", buildScript}, Env: env, Stdout: sink, Stderr: sink})
	if err != nil {
		return fmt.Errorf("start the build: %w", err)
	}
	res, err := proc.Wait()
	sink.Flush()
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	if res.ExitCode != 0 {
		why := fmt.Sprintf("the build failed (exit code %d", res.ExitCode)
		if res.Reason != "" {
			why += ", " + res.Reason
		}
		return fmt.Errorf("%s): %s", why, tail.String())
	}
	return nil
}

// BuildLog returns the release's build log.
func (s *Service) BuildLog(projectID, releaseID string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(s.releaseDir(projectID, releaseID), "build.log"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// syncWriter writes to each writer under one lock (stdout and stderr
// write concurrently), never stopping early.
type syncWriter struct {
	mu sync.Mutex
	ws []io.Writer
}

func (m *syncWriter) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, w := range m.ws {
		w.Write(p)
	}
	return len(p), nil
}

// tailBuffer keeps the last 600 bytes written: the reason a build failed.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 600 {
		t.b = t.b[len(t.b)-600:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(bytes.TrimSpace(t.b)) }
