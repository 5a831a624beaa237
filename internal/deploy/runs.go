package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"ecode/internal/sandbox"
	"ecode/internal/store"
)

// runningRun is a project's scheduled run in progress.
type runningRun struct {
	id     string
	cancel context.CancelFunc
}

// runsDir holds a project's scheduled runs' logs (<id>.log): apart from
// the releases, so a run's log outlives its release's files.
func (s *Service) runsDir(projectID string) string {
	return filepath.Join(s.opts.Dir, projectID, "runs")
}

// startRun starts a run of rel due at t, or records it skipped when the
// project's previous run still goes.
func (s *Service) startRun(ctx context.Context, rel store.Release, t time.Time) error {
	run := store.DeploymentRun{ID: newID(), ProjectID: rel.ProjectID, ReleaseID: rel.ID, ScheduledAt: t, NodeID: s.nodeID()}
	s.mu.Lock()
	if s.stopped[rel.ProjectID] || s.closed {
		s.mu.Unlock()
		return nil
	}
	if prev, busy := s.runs[rel.ProjectID]; busy {
		s.mu.Unlock()
		run.Status, run.Reason = RunSkipped, "not started: the previous run ("+prev.id+") was still running"
		if err := s.d.Store.CreateDeploymentRun(ctx, run); !errors.Is(err, store.ErrConflict) {
			return err
		}
		return nil // another node recorded this due time
	}
	rctx, cancel := context.WithCancel(s.ctx)
	s.runs[rel.ProjectID] = runningRun{id: run.ID, cancel: cancel}
	s.mu.Unlock()
	run.Status, run.StartedAt = RunRunning, s.d.Now()
	err := s.d.Store.CreateDeploymentRun(ctx, run)
	if err == nil && !s.spawn(func() { s.executeRun(rctx, rel, run) }) {
		err = sandbox.ErrClosed
	}
	if err != nil {
		s.endRun(rel.ProjectID, run.ID) // cancels rctx
	}
	if errors.Is(err, store.ErrConflict) {
		return nil // another node took this due time: it runs there
	}
	return err
}

// endRun forgets the project's run id (it ended, or never started).
func (s *Service) endRun(projectID, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.runs[projectID]; ok && r.id == id {
		r.cancel()
		delete(s.runs, projectID)
	}
}

// executeRun runs the release's command in a fresh sandbox over its files,
// its output (masked) in the run's log, and records how it ended.
func (s *Service) executeRun(ctx context.Context, rel store.Release, run store.DeploymentRun) {
	defer s.endRun(rel.ProjectID, run.ID)
	status, code, reason := RunFailed, -1, ""
	if res, err := s.runCommand(ctx, rel, run); err != nil {
		reason = err.Error()
		if ctx.Err() != nil {
			reason = "stopped: the server is shutting down or the project was deleted"
		}
	} else {
		code, reason = res.ExitCode, res.Reason
		if res.ExitCode == 0 && res.Reason == "" {
			status = RunSucceeded
		}
	}
	fctx := context.WithoutCancel(ctx)
	if err := s.d.Store.FinishDeploymentRun(fctx, run.ID, status, code, reason, s.d.Now()); err != nil {
		s.d.Log.Error("record scheduled run", "project_id", rel.ProjectID, "run_id", run.ID, "err", err)
	}
	if ids, err := s.d.Store.PruneDeploymentRuns(fctx, rel.ProjectID, keptRuns); err == nil {
		for _, id := range ids {
			os.Remove(filepath.Join(s.runsDir(rel.ProjectID), id+".log"))
		}
	}
	s.notifyChanged()
}

// runCommand is one run's sandbox and process.
func (s *Service) runCommand(ctx context.Context, rel store.Release, run store.DeploymentRun) (sandbox.Result, error) {
	appDir := s.appDir(rel)
	cfg, err := releaseConfig(rel, appDir)
	if err != nil {
		return sandbox.Result{}, err
	}
	if err := os.MkdirAll(s.runsDir(rel.ProjectID), 0o700); err != nil {
		return sandbox.Result{}, err
	}
	f, err := os.Create(filepath.Join(s.runsDir(rel.ProjectID), run.ID+".log"))
	if err != nil {
		return sandbox.Result{}, err
	}
	defer f.Close()
	fmt.Fprintf(f, "$ %s\n", cfg.Run)
	defer s.bindDB("r-"+run.ID, rel.ProjectID)()
	ws, err := s.d.Sandbox.Workspace(ctx, "r-"+run.ID, sandbox.Spec{Dir: appDir, UID: uidFor(rel.ProjectID), Limits: s.sandboxLimits(ctx, rel.ProjectID),
		Data: s.dataDir(rel.ProjectID)})
	if err != nil {
		return sandbox.Result{}, fmt.Errorf("open the run's sandbox: %w", err)
	}
	defer ws.Close()
	env, mask, err := s.d.Env(ctx, rel.ProjectID, "deploy", append(cfg.EnvList(), "ECODE_RUN="+cfg.Run)...)
	if err != nil {
		return sandbox.Result{}, err
	}
	env = s.dbEnv(rel.ProjectID, env)
	sink := mask.Stream(&syncWriter{ws: []io.Writer{&capWriter{w: f, left: s.opts.LogFileBytes}}})
	rctx, cancel := context.WithTimeout(ctx, s.opts.RunTimeout)
	defer cancel()
	start := s.d.Now()
	proc, err := ws.Start(rctx, sandbox.Cmd{Args: []string{"/bin/sh", "-c", `exec sh -c "$ECODE_RUN"`}, Env: env, Stdout: sink, Stderr: sink})
	if err != nil {
		return sandbox.Result{}, fmt.Errorf("start the command: %w", err)
	}
	res, err := proc.Wait()
	sink.Flush()
	s.meter.ran(rel.ProjectID, s.d.Now().Sub(start).Seconds())
	return res, err
}

// RunLog returns a scheduled run's log.
func (s *Service) RunLog(projectID, runID string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(s.runsDir(projectID), runID+".log"))
	if os.IsNotExist(err) {
		return nil, nil
	}
	return b, err
}

// capWriter writes the first left bytes, then one note, then nothing.
type capWriter struct {
	w    io.Writer
	left int64
	cut  bool
}

func (c *capWriter) Write(p []byte) (int, error) {
	n := len(p)
	if c.left <= 0 {
		if !c.cut {
			c.cut = true
			io.WriteString(c.w, "\n[log cut: the run wrote more than the log keeps]\n")
		}
		return n, nil
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	c.w.Write(p)
	c.left -= int64(len(p))
	return n, nil
}
