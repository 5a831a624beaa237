package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"ecode/internal/store"
)

// Scheduled deployments: the release's run command on a cron schedule
// (UTC), each run in a fresh sandbox over the release's files. Due times
// are taken from the deployment's schedule_checked_at up to now: the
// latest runs if it is at most ScheduleGrace old, older ones are recorded
// as missed (the server was not running, or not looking); a due time
// while the previous run still goes is recorded as skipped.

// KindScheduled is a command run on a cron schedule.
const KindScheduled = "scheduled"

// Run statuses.
const (
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
	RunSkipped   = "skipped" // the previous run was still going
	RunMissed    = "missed"  // not started at its time
)

// maxMissed is how many missed due times one check records (the latest).
const maxMissed = 20

// keptRuns is how many runs (and their logs) a deployment keeps.
const keptRuns = 200

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ErrBadSchedule wraps why a cron schedule does not parse.
var ErrBadSchedule = errors.New("deploy: bad schedule")

// ParseSchedule parses a 5-field cron schedule (minute hour day-of-month
// month day-of-week, e.g. "*/15 * * * *") or a descriptor (@hourly,
// @daily, @weekly, @monthly, @yearly, @every 10m), evaluated in UTC.
func ParseSchedule(spec string) (cron.Schedule, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" || len(spec) > 200 {
		return nil, fmt.Errorf("%w: give 5 cron fields (minute hour day month weekday), e.g. \"*/15 * * * *\"", ErrBadSchedule)
	}
	if strings.Contains(spec, "TZ=") {
		return nil, fmt.Errorf("%w: schedules are in UTC; no time zone prefix", ErrBadSchedule)
	}
	sc, err := cronParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSchedule, err)
	}
	if ev, ok := sc.(cron.ConstantDelaySchedule); ok && ev.Delay < time.Minute {
		return nil, fmt.Errorf("%w: runs at most once a minute", ErrBadSchedule)
	}
	return sc, nil
}

// nextRun is the schedule's next due time after t (zero if it has none).
func nextRun(spec string, t time.Time) time.Time {
	sc, err := ParseSchedule(spec)
	if err != nil {
		return time.Time{}
	}
	return sc.Next(t.UTC())
}

// activateScheduled makes a built scheduled release the active one: no
// instance serves it (an instance of an earlier release drains); the
// scheduler runs it at its due times.
func (s *Service) activateScheduled(ctx context.Context, rel store.Release) error {
	dep, err := s.d.Store.DeploymentForProject(ctx, rel.ProjectID)
	if err != nil {
		return err
	}
	if err := s.d.Store.ActivateRelease(ctx, rel.ProjectID, rel.ID, s.d.Now()); err != nil {
		return err
	}
	d := s.deployment(dep.ProjectID, dep.Slug)
	if d == nil {
		return ErrProjectStopped
	}
	old := d.swap(nil)
	d.mu.Lock()
	d.scheduled = true
	d.mu.Unlock()
	if old != nil {
		if !s.spawn(func() { old.drain(s.opts.DrainTimeout) }) {
			old.stop()
		}
	}
	s.prune(ctx, rel.ProjectID)
	s.notifyChanged()
	return nil
}

// RunSchedules handles every scheduled deployment's due times up to now
// (the service's clock): it starts runs, and records skipped and missed
// ones. Run calls it every ScheduleTick; calls are serialised.
func (s *Service) RunSchedules(ctx context.Context) error {
	s.schedMu.Lock()
	defer s.schedMu.Unlock()
	var deps []store.Deployment
	var err error
	if s.d.Cluster != nil {
		deps, err = s.d.Cluster.HeldDeployments(ctx) // what this node holds, not every deployment
	} else {
		deps, err = s.d.Store.ListDeployments(ctx)
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, dep := range deps {
		if dep.Kind != KindScheduled || dep.ActiveReleaseID == "" || dep.Schedule == "" {
			continue
		}
		if err := s.checkSchedule(ctx, dep, s.d.Now()); err != nil {
			errs = append(errs, fmt.Errorf("project %s: %w", dep.ProjectID, err))
		}
	}
	return errors.Join(errs...)
}

// checkSchedule handles one deployment's due times in (checked, now].
func (s *Service) checkSchedule(ctx context.Context, dep store.Deployment, now time.Time) error {
	rel, err := s.d.Store.ReleaseOf(ctx, dep.ProjectID, dep.ActiveReleaseID)
	if err != nil || rel.Kind != KindScheduled {
		return err
	}
	sc, err := ParseSchedule(dep.Schedule)
	if err != nil {
		return err
	}
	var due []time.Time
	earlier := 0
	for t := sc.Next(dep.ScheduleCheckedAt.UTC()); !t.IsZero() && !t.After(now); t = sc.Next(t) {
		due = append(due, t)
		if len(due) > maxMissed+1 {
			due, earlier = due[1:], earlier+1
		}
	}
	if len(due) == 0 {
		return nil
	}
	missed, latest := due[:len(due)-1], due[len(due)-1]
	late := "not started at its time: the server was not running"
	if now.Sub(latest) > s.opts.ScheduleGrace {
		missed, latest = due, time.Time{}
	}
	if rel.Status == StatusSuspended {
		missed, latest, late = due, time.Time{}, "not started: the deployment is suspended ("+rel.Reason+")"
	}
	for i, t := range missed {
		why := late
		if i == 0 && earlier > 0 {
			why += fmt.Sprintf(" (and %d earlier due times)", earlier)
		}
		if err := s.d.Store.CreateDeploymentRun(ctx, store.DeploymentRun{ID: newID(), ProjectID: dep.ProjectID,
			ReleaseID: rel.ID, ScheduledAt: t, Status: RunMissed, Reason: why, NodeID: s.nodeID()}); err != nil &&
			!errors.Is(err, store.ErrConflict) { // (recorded by another node)
			return err
		}
	}
	if !latest.IsZero() {
		if err := s.startRun(ctx, rel, latest); err != nil {
			return err
		}
	}
	s.notifyChanged()
	return s.d.Store.SetScheduleChecked(ctx, dep.ProjectID, now)
}

// scheduleLoop calls RunSchedules at start and every ScheduleTick until
// ctx or the service ends; runs the server stopped during are failed first.
func (s *Service) scheduleLoop(ctx context.Context) {
	if err := s.d.Store.FailRunningDeploymentRuns(ctx, s.nodeID(), "the server stopped during the run", s.d.Now()); err != nil && ctx.Err() == nil {
		s.d.Log.Error("close interrupted scheduled runs", "err", err)
	}
	t := time.NewTicker(s.opts.ScheduleTick)
	defer t.Stop()
	for {
		if s.d.Cluster != nil {
			if err := s.place(ctx); err != nil && ctx.Err() == nil {
				s.d.Log.Error("place deployments on this node", "err", err)
			}
		}
		if err := s.RunSchedules(ctx); err != nil && ctx.Err() == nil {
			s.d.Log.Error("scheduled deployments", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
	}
}
