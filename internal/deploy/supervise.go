package deploy

import (
	"context"
	"fmt"
	"time"

	"ecode/internal/store"
)

// Run brings back the deployments that were live when the server last
// stopped, then waits for ctx to end.
func (s *Service) Run(ctx context.Context) {
	deps, err := s.d.Store.ListDeployments(ctx)
	if err != nil {
		s.d.Log.Error("resume deployments", "err", err)
	}
	for _, dep := range deps {
		if dep.ActiveReleaseID == "" {
			continue
		}
		d := s.deployment(dep.ProjectID, dep.Slug)
		if s.d.Cluster != nil {
			continue // the schedule loop's first place starts this node's share
		}
		rel, err := s.d.Store.ReleaseOf(ctx, dep.ProjectID, dep.ActiveReleaseID)
		if err == nil && d != nil && (s.resumeSuspended(d, rel) || s.resumeAsleep(d, rel)) {
			continue // suspended: not started; asleep: the next request starts it
		}
		s.spawn(func() {
			ctx := s.ctx
			if err == nil {
				err = s.goLive(ctx, rel, nil)
			}
			if err != nil && ctx.Err() == nil {
				s.d.Log.Error("resume deployment", "project_id", dep.ProjectID, "release_id", dep.ActiveReleaseID, "err", err)
			}
		})
	}
	s.spawn(func() { s.idleLoop(ctx) })
	s.spawn(func() { s.scheduleLoop(ctx) })
	s.flushLoop(ctx)
}

// supervise restarts the instance's process when it exits, with backoff
// (doubling to a minute; reset after a minute of running), marking the
// release crashing until it listens again.
func (i *instance) supervise() {
	s := i.s
	backoff := s.opts.RestartBackoff
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	go func() {
		select {
		case <-i.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		i.mu.Lock()
		proc := i.proc
		i.mu.Unlock()
		started := s.d.Now()
		select {
		case <-ctx.Done():
			proc.Kill()
			return
		case <-proc.Done():
		}
		select {
		case <-i.quit: // stopped (stop closes quit before the sandbox)
			return
		default:
		}
		if s.d.Now().Sub(started) > time.Minute {
			backoff = s.opts.RestartBackoff
		}
		i.setCrashing(true)
		res, _ := proc.Wait()
		why := fmt.Sprintf("the app exited with code %d; restarting in %s", res.ExitCode, backoff)
		if res.Reason != "" {
			why = fmt.Sprintf("the app exited with code %d (%s); restarting in %s", res.ExitCode, res.Reason, backoff)
		}
		s.setStatus(ctx, i.rel, StatusCrashing, why)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, time.Minute)
		i.ws.KillAll()
		if err := i.startProcess(ctx); err != nil {
			s.setStatus(ctx, i.rel, StatusCrashing, err.Error())
			continue
		}
		i.setCrashing(false)
		s.setStatus(ctx, i.rel, StatusLive, "")
	}
}

// setStatus records the status of an instance's release while it is the
// deployment's active one.
func (s *Service) setStatus(ctx context.Context, rel store.Release, status, reason string) {
	dep, err := s.d.Store.DeploymentForProject(ctx, rel.ProjectID)
	if err != nil || dep.ActiveReleaseID != rel.ID || s.suspendedNow(rel.ProjectID) {
		return // a suspended release keeps its status
	}
	if err := s.d.Store.SetReleaseStatus(ctx, rel.ID, status, reason, s.d.Now()); err != nil && ctx.Err() == nil {
		s.d.Log.Error("record release status", "release_id", rel.ID, "err", err)
	}
	s.notifyChanged()
}
