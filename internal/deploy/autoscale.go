package deploy

import (
	"context"
	"errors"
	"time"

	"ecode/internal/store"
)

// Scale to zero (autoscale deployments): an instance without requests for
// IdleTimeout is stopped and its release kept "asleep" on the deployment;
// the next request starts an instance of it (one start, however many
// requests wait), is held until the app listens, then served.

// wakeCall is one start of a sleeping release; done closes when it ends.
type wakeCall struct {
	done chan struct{}
	err  error
}

// errNotAsleep means the deployment has nothing to wake (not running).
var errNotAsleep = errors.New("deploy: nothing asleep")

// running reports how many instances serve the project now, and whether a
// release of it is asleep.
func (s *Service) running(projectID string) (instances int, asleep bool) {
	s.mu.Lock()
	d := s.deps[projectID]
	s.mu.Unlock()
	if d == nil {
		return 0, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.active != nil {
		instances = d.active.count()
	}
	return instances, d.asleep != nil
}

// wake starts the deployment's sleeping release, or joins the start under
// way, and returns its instance with the request counted on it.
// errNotAsleep when nothing sleeps.
func (s *Service) wake(ctx context.Context, d *deployment) (*instance, error) {
	d.mu.Lock()
	rel := d.asleep
	if rel == nil {
		d.mu.Unlock()
		if inst := d.acquire(); inst != nil { // woken meanwhile
			return inst, nil
		}
		return nil, errNotAsleep
	}
	w := d.waking
	if w == nil {
		w = &wakeCall{done: make(chan struct{})}
		d.waking = w
		if !s.spawn(func() { s.startWoken(d, rel, w) }) {
			d.waking = nil
			d.mu.Unlock()
			return nil, ErrProjectStopped
		}
	}
	d.mu.Unlock()
	select {
	case <-w.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if w.err != nil {
		return nil, w.err
	}
	if inst := d.acquire(); inst != nil {
		return inst, nil
	}
	return nil, errNotAsleep // put to sleep or replaced at once
}

// startWoken starts an instance of rel and, unless another release took
// the deployment over meanwhile, makes it the serving one.
func (s *Service) startWoken(d *deployment, rel *store.Release, w *wakeCall) {
	inst, err := s.startGroup(s.ctx, *rel)
	d.mu.Lock()
	d.waking = nil
	if err == nil {
		if d.asleep == rel {
			d.active, d.asleep = inst, nil
		} else {
			defer inst.stop()
		}
	}
	w.err = err
	d.mu.Unlock()
	close(w.done)
	if err != nil {
		s.d.Log.Warn("wake deployment", "project_id", rel.ProjectID, "release_id", rel.ID, "err", err)
	}
	s.notifyChanged()
}

// ScaleIdle stops every autoscale instance that has had no request for
// its idle timeout (the deployment's own, else Options.IdleTimeout; by the service's clock); its release sleeps until the next
// request. It returns how many it stopped. Run calls it periodically.
func (s *Service) ScaleIdle() int {
	now := s.d.Now()
	s.mu.Lock()
	ds := make([]*deployment, 0, len(s.deps))
	for _, d := range s.deps {
		ds = append(ds, d)
	}
	s.mu.Unlock()
	n := 0
	for _, d := range ds {
		d.mu.Lock()
		inst := d.active
		if inst == nil || inst.rel.Kind != KindAutoscale {
			d.mu.Unlock()
			continue
		}
		d.mu.Unlock()
		idle := s.idleTimeout(d.projectID) // the deployment's own, or the server's
		d.mu.Lock()
		if d.active != inst || !inst.idleFor(now, idle) {
			d.mu.Unlock()
			continue
		}
		rel := inst.rel
		d.active, d.asleep = nil, &rel
		d.mu.Unlock()
		inst.drain(s.opts.DrainTimeout) // a request that came in meanwhile ends first
		n++
	}
	if n > 0 {
		s.notifyChanged()
	}
	return n
}

// idleFor reports whether the instance and its replicas have had no
// request for idle.
func (i *instance) idleFor(now time.Time, idle time.Duration) bool {
	for _, r := range i.reps() {
		if !r.idleFor(now, idle) {
			return false
		}
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.inflight == 0 && !i.stopped && now.Sub(i.lastUsed) >= idle
}

// idleLoop calls ScaleIdle every IdleTimeout/4 (at least every 15 s: a
// deployment's own timeout may be as short as MinIdleTimeout)
// until ctx or the service ends.
func (s *Service) idleLoop(ctx context.Context) {
	t := time.NewTicker(min(max(s.opts.IdleTimeout/4, time.Second), MinIdleTimeout/4))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.ctx.Done():
			return
		case <-t.C:
			s.ScaleIdle()
		}
	}
}

// resumeAsleep puts the deployment's active release to sleep at startup
// when it is an autoscale one (the next request starts it); false when it
// must be started now.
func (s *Service) resumeAsleep(d *deployment, rel store.Release) bool {
	if rel.Kind != KindAutoscale {
		return false
	}
	d.mu.Lock()
	if d.active == nil {
		d.asleep = &rel
	}
	d.mu.Unlock()
	s.notifyChanged()
	return true
}
