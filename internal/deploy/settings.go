package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"ecode/internal/store"
)

// Settings of the live deployment, changed without a publish. A nil field
// is left as it is.
type Settings struct {
	// Instances is how many instances a server or autoscale deployment
	// runs: the serving group grows (new instances join once they listen)
	// or shrinks (removed ones drain) at once.
	Instances *int
	// Schedule is a scheduled deployment's cron schedule: the next due
	// time follows the new one.
	Schedule *string
	// IdleTimeout is an autoscale deployment's idle timeout; 0 means the
	// server's default. It applies at the next idle check.
	IdleTimeout *time.Duration
	// Size is the size of the deployment's sandboxes (size.go): a serving
	// deployment's instances are replaced by ones of the new size after it
	// returns (the status shows resizing meanwhile); if they do not start,
	// the old ones keep serving and the status shows why.
	Size *string
}

// Bounds of a deployment's own idle timeout.
const (
	MinIdleTimeout = time.Minute
	MaxIdleTimeout = 24 * time.Hour
)

// Reasons a setting is refused (besides ErrBadSchedule and ErrBadInstances).
var (
	ErrBadIdleTimeout = fmt.Errorf("deploy: the idle timeout must be 0 (the server's) or between %s and %s", MinIdleTimeout, "24h")
	// ErrSettingKind wraps a setting the deployment's kind does not have.
	ErrSettingKind = errors.New("deploy: not a setting of this deployment")
	// ErrScaleFailed wraps why new instances did not start.
	ErrScaleFailed = errors.New("deploy: a new instance did not start")
)

// SettingError is a setting refused: Field is "instances", "schedule",
// "idle_timeout" or "size"; Err says why (ErrBadInstances, ErrBadSchedule
// with the parser's reason, ErrBadIdleTimeout, ErrSettingKind, ErrBadSize,
// ErrSizeOverServer or ErrSizeOverPlan).
type SettingError struct {
	Field string
	Err   error
}

func (e *SettingError) Error() string { return e.Err.Error() }
func (e *SettingError) Unwrap() error { return e.Err }

// validate checks the settings against the deployment's kind.
func (o Settings) validate(kind string) error {
	if o.Instances != nil {
		if kind != KindServer && kind != KindAutoscale {
			return &SettingError{"instances", fmt.Errorf("%w: only server and autoscale deployments run instances", ErrSettingKind)}
		}
		if *o.Instances < 1 || *o.Instances > MaxInstances {
			return &SettingError{"instances", ErrBadInstances}
		}
	}
	if o.Schedule != nil {
		if kind != KindScheduled {
			return &SettingError{"schedule", fmt.Errorf("%w: only scheduled deployments have a schedule", ErrSettingKind)}
		}
		if _, err := ParseSchedule(*o.Schedule); err != nil {
			return &SettingError{"schedule", err}
		}
	}
	if o.IdleTimeout != nil {
		if kind != KindAutoscale {
			return &SettingError{"idle_timeout", fmt.Errorf("%w: only autoscale deployments stop when idle", ErrSettingKind)}
		}
		if t := *o.IdleTimeout; t != 0 && (t < MinIdleTimeout || t > MaxIdleTimeout) {
			return &SettingError{"idle_timeout", ErrBadIdleTimeout}
		}
	}
	return nil
}

// UpdateSettings changes the live deployment's settings (ErrNoDeployment
// before the first publish). A new instance count is applied to the
// serving instances before it returns; if the new instances do not start
// the count is left as it was and the error returned. A new size is
// applied after it returns (Status.Resizing); a second one while that
// goes on is refused (ErrResizing).
func (s *Service) UpdateSettings(ctx context.Context, projectID string, o Settings) (Status, error) {
	dep, err := s.d.Store.DeploymentForProject(ctx, projectID)
	if errors.Is(err, store.ErrNotFound) {
		return Status{}, ErrNoDeployment
	} else if err != nil {
		return Status{}, err
	}
	if err := o.validate(dep.Kind); err != nil {
		return Status{}, err
	}
	if o.Size != nil {
		if err := s.checkSize(ctx, projectID, *o.Size); err != nil {
			return Status{}, err
		}
		if s.resizingNow(projectID) {
			return Status{}, ErrResizing
		}
	}
	now := s.d.Now()
	if o.Schedule != nil {
		if err := s.setSchedule(ctx, &dep, *o.Schedule); err != nil {
			return Status{}, err
		}
	}
	if o.IdleTimeout != nil {
		if err := s.d.Store.SetDeploymentIdleTimeout(ctx, projectID, *o.IdleTimeout, now); err != nil {
			return Status{}, err
		}
		s.spawn(func() { s.ScaleIdle() }) // a shorter timeout may already have passed
	}
	if o.Instances != nil && *o.Instances != max(dep.Instances, 1) {
		if err := s.d.Store.SetDeploymentInstances(ctx, projectID, *o.Instances, now); err != nil {
			return Status{}, err
		}
		if err := s.scale(projectID, *o.Instances); err != nil {
			if rerr := s.d.Store.SetDeploymentInstances(ctx, projectID, max(dep.Instances, 1), now); rerr != nil {
				s.d.Log.Error("restore the instance count", "project_id", projectID, "err", rerr)
			}
			return Status{}, err
		}
	}
	if o.Size != nil {
		if err := s.resize(ctx, projectID, dep.Size, *o.Size); err != nil {
			return Status{}, err
		}
	}
	s.notifyChanged()
	return s.Get(ctx, projectID)
}

// live returns the project's in-memory deployment, nil when none.
func (s *Service) live(projectID string) *deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deps[projectID]
}

// scale makes the serving group n instances: new ones start and listen
// before they join the round robin; removed ones leave it, then drain.
// Nothing serving (asleep, scheduled, not live): the next start uses n.
func (s *Service) scale(projectID string, n int) error {
	d := s.live(projectID)
	if d == nil {
		return nil
	}
	d.groupMu.Lock()
	defer d.groupMu.Unlock()
	d.mu.Lock()
	head := d.active
	d.mu.Unlock()
	if head == nil || head.static != nil {
		return nil
	}
	cur := head.reps()
	var removed []*instance
	switch want := n - 1; {
	case want > len(cur):
		added, err := s.startInstances(s.ctx, head.rel, want-len(cur))
		if err != nil {
			return fmt.Errorf("%w: %w", ErrScaleFailed, err)
		}
		d.mu.Lock()
		if d.active != head { // replaced meanwhile (a publish): its count is read from the store
			d.mu.Unlock()
			removed = added
			break
		}
		next := append(slices.Clone(cur), added...)
		head.replicas.Store(&next)
		d.mu.Unlock()
	case want < len(cur):
		d.mu.Lock()
		next := slices.Clone(cur[:want])
		head.replicas.Store(&next)
		d.mu.Unlock()
		removed = cur[want:]
	}
	for _, r := range removed {
		if !s.spawn(func() { r.drain(s.opts.DrainTimeout) }) {
			r.stop()
		}
	}
	return nil
}

// SecretsChanged restarts the live deployment's instances so they get the
// changed production secrets: a new group starts and listens, traffic
// switches to it, the old one drains (no request fails). It returns at
// once; changes during a restart cause one more after it. A scheduled
// deployment's next run and a sleeping autoscale deployment's next start
// read the secrets then, so nothing restarts.
func (s *Service) SecretsChanged(projectID string) (restarting bool) {
	d := s.live(projectID)
	if d == nil {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.active == nil || d.active.static != nil {
		return false
	}
	if d.restarting {
		d.again = true
		return true
	}
	d.restarting = true
	if !s.spawn(func() { s.restartLoop(d) }) {
		d.restarting = false
		return false
	}
	return true
}

// restartLoop restarts the group until no change came meanwhile. A failed
// restart (the new instances did not listen) is recorded in the store, why
// and when, for the status to show on every node and after the server
// restarts; one that succeeds clears it.
func (s *Service) restartLoop(d *deployment) {
	for {
		err := s.restartGroup(d)
		if err != nil && s.ctx.Err() == nil {
			s.d.Log.Warn("restart deployment with new secrets", "project_id", d.projectID, "err", err)
		}
		switch {
		case err == nil:
			s.recordRestartFailure(d.projectID, "")
		case s.ctx.Err() == nil:
			s.recordRestartFailure(d.projectID, err.Error())
		}
		d.mu.Lock()
		if !d.again {
			d.restarting = false
			d.mu.Unlock()
			s.notifyChanged()
			return
		}
		d.again = false
		d.mu.Unlock()
	}
}

// recordRestartFailure stores why the last restart with new secrets
// failed ("" clears it).
func (s *Service) recordRestartFailure(projectID, reason string) {
	if err := s.d.Store.SetSecretsRestartFailure(s.ctx, projectID, reason, s.d.Now()); err != nil && s.ctx.Err() == nil {
		s.d.Log.Error("record the secrets restart's failure", "project_id", projectID, "err", err)
	}
}

// restartGroup replaces the serving group with a fresh one of the same
// release (blue-green), and records when.
func (s *Service) restartGroup(d *deployment) error {
	replaced, err := s.replaceGroup(d)
	if err != nil || !replaced {
		return err
	}
	if err := s.d.Store.SetSecretsRestarted(s.ctx, d.projectID, s.d.Now()); err != nil {
		return err
	}
	s.notifyChanged()
	return nil
}

// replaceGroup starts a fresh group of the serving release (with the
// secrets and size of now), switches traffic to it once it listens and
// drains the old one. Nothing serving, or the group replaced meanwhile
// (that start read the same settings): replaced is false. If the new group
// does not start, the old one keeps serving and the error is returned.
func (s *Service) replaceGroup(d *deployment) (replaced bool, err error) {
	d.groupMu.Lock()
	defer d.groupMu.Unlock()
	d.mu.Lock()
	old := d.active
	d.mu.Unlock()
	if old == nil || old.static != nil {
		return false, nil
	}
	inst, err := s.startGroup(s.ctx, old.rel)
	if err != nil {
		return false, err
	}
	d.mu.Lock()
	if d.active != old {
		d.mu.Unlock()
		inst.stop()
		return false, nil
	}
	d.active = inst
	d.mu.Unlock()
	if !s.spawn(func() { old.drain(s.opts.DrainTimeout) }) {
		old.stop()
	}
	return true, nil
}

// Restarting reports whether the serving group is being replaced: by a
// restart with new secrets, or by a change of size (resizing).
func (s *Service) Restarting(projectID string) (restarting, resizing bool) {
	d := s.live(projectID)
	if d == nil {
		return false, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.restarting || d.resizing, d.resizing
}

// idleTimeout is the deployment's own idle timeout, or the server's.
func (s *Service) idleTimeout(projectID string) time.Duration {
	dep, err := s.d.Store.DeploymentForProject(s.ctx, projectID)
	if err != nil || dep.IdleTimeout <= 0 {
		return s.opts.IdleTimeout
	}
	return dep.IdleTimeout
}
