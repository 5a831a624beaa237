package deploy

import (
	"context"
	"errors"
	"net/http"

	"ecode/internal/cluster"
	"ecode/internal/store"
)

// Many nodes (Deps.Cluster set): each live deployment runs on the one node
// holding its deployment lease (cluster.DeploymentOwner). A node takes the
// deployments nobody holds, up to its fair share, at start and on every
// schedule tick (place), and any deployment a request for it finds
// unowned; it starts what it took like a sleeping autoscale release (the
// first request waits until the app listens). The router on another node
// forwards the request to the owner (Forward, the API's signed channel);
// only the owner's scheduler runs a due time, and the store keeps one row
// per due time, so two nodes racing for one cannot both run it. A node
// that loses a lease (its owner died, drained or was cut off) drains what
// it ran (Moved).

// nodeID is this node's id ("" on a single node): recorded on runs.
func (s *Service) nodeID() string {
	if s.d.Cluster == nil {
		return ""
	}
	return s.d.Cluster.ID()
}

// atOwner serves r elsewhere when another node runs d, and reports whether
// it did; when this node runs it, it makes sure d will start here.
func (s *Service) atOwner(w http.ResponseWriter, r *http.Request, d *deployment) bool {
	c := s.d.Cluster
	if c.HoldsDeployment(d.projectID) { // the heartbeat keeps this current: no query
		return false
	}
	o, err := c.DeploymentOwner(r.Context(), d.projectID, true)
	if err != nil {
		if errors.Is(err, cluster.ErrNoNode) || !errors.Is(err, store.ErrNotFound) {
			w.Header().Set("Retry-After", "2")
			appPage(w, http.StatusServiceUnavailable, "This app is moving", "No server can run it this moment; try again shortly.")
			return true
		}
		appPage(w, http.StatusNotFound, "No app here", "Nothing is published at "+r.Host+".")
		return true
	}
	if o.Self {
		if err := s.adopt(r.Context(), d); err != nil {
			s.d.Log.Warn("take a deployment over", "project_id", d.projectID, "err", err)
		}
		return false
	}
	if s.Forward == nil || !s.Forward(w, r, o.Address) { // (false: r itself was forwarded, and ownership moved meanwhile)
		w.Header().Set("Retry-After", "1")
		appPage(w, http.StatusServiceUnavailable, "This app is moving", "It moved to another server; try again.")
	}
	return true
}

// adopt readies the deployment's active release to run on this node, which
// just took it: suspended it stays paused, otherwise it sleeps until the
// next request wakes it (or wakeNow for a server, which runs without
// requests). Nothing changes when something runs already.
func (s *Service) adopt(ctx context.Context, d *deployment) error {
	d.mu.Lock()
	busy := d.active != nil || d.asleep != nil || d.waking != nil || d.suspended != ""
	d.mu.Unlock()
	if busy {
		return nil
	}
	dep, err := s.d.Store.DeploymentForProject(ctx, d.projectID)
	if err != nil || dep.ActiveReleaseID == "" {
		return err
	}
	rel, err := s.d.Store.ReleaseOf(ctx, d.projectID, dep.ActiveReleaseID)
	if err != nil || rel.Kind == KindScheduled || s.resumeSuspended(d, rel) {
		return err
	}
	d.mu.Lock()
	if d.active == nil && d.asleep == nil && d.waking == nil {
		d.asleep = &rel
	}
	d.mu.Unlock()
	s.notifyChanged()
	return nil
}

// wakeNow starts an adopted server release without waiting for a request.
func (s *Service) wakeNow(d *deployment) {
	s.spawn(func() {
		inst, err := s.wake(s.ctx, d)
		if err == nil {
			inst.done()
		} else if !errors.Is(err, errNotAsleep) && s.ctx.Err() == nil {
			s.d.Log.Warn("start a deployment taken over", "project_id", d.projectID, "err", err)
		}
	})
}

// place takes the live deployments no alive node holds, up to this node's
// fair share, and readies every deployment this node holds to run here.
// It reads only those deployments (cluster.DeploymentsToPlace), not every
// deployment's lease.
func (s *Service) place(ctx context.Context) error {
	c := s.d.Cluster
	mine, free, share, err := c.DeploymentsToPlace(ctx)
	if err != nil {
		return err
	}
	for _, dep := range free {
		if len(mine) >= share {
			break
		}
		if o, err := c.DeploymentOwner(ctx, dep.ProjectID, true); err == nil && o.Self {
			mine = append(mine, dep)
		}
	}
	for _, dep := range mine {
		d := s.deployment(dep.ProjectID, dep.Slug)
		if d == nil {
			continue
		}
		if err := s.adopt(ctx, d); err != nil {
			s.d.Log.Warn("take a deployment", "project_id", dep.ProjectID, "err", err)
		}
		if dep.Kind != KindAutoscale {
			s.wakeNow(d)
		}
	}
	return nil
}

// owns reports whether this node runs the project's deployment (always on
// a single node).
func (s *Service) owns(ctx context.Context, projectID string) bool {
	if s.d.Cluster == nil {
		return true
	}
	o, err := s.d.Cluster.DeploymentOwner(ctx, projectID, false)
	return err == nil && o.Self
}

// learn finds a deployment published through another node (cluster only):
// by its slug, or by its project id when slug is "".
func (s *Service) learn(ctx context.Context, slug, projectID string) (*deployment, bool) {
	if s.d.Cluster == nil {
		return nil, false
	}
	var dep store.Deployment
	var err error
	if slug != "" {
		dep, err = s.d.Store.DeploymentBySlug(ctx, slug)
	} else {
		dep, err = s.d.Store.DeploymentForProject(ctx, projectID)
	}
	if err != nil || dep.ActiveReleaseID == "" {
		return nil, false
	}
	d := s.deployment(dep.ProjectID, dep.Slug)
	return d, d != nil
}

// Moved drains what this node ran of a project's deployment, which another
// node runs now (cluster.Options.LostDeployment): its instances finish the
// requests they have, a scheduled run in progress is stopped.
func (s *Service) Moved(projectID string) {
	s.mu.Lock()
	d := s.deps[projectID]
	if r, ok := s.runs[projectID]; ok {
		r.cancel()
	}
	s.mu.Unlock()
	if d == nil {
		return
	}
	if old := d.swap(nil); old != nil {
		if !s.spawn(func() { old.drain(s.opts.DrainTimeout) }) {
			old.stop()
		}
	}
	s.notifyChanged()
}
