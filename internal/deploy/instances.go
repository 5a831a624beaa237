package deploy

import (
	"context"
	"fmt"
	"os"
	"sync"

	"ecode/internal/store"
)

// MaxInstances bounds a deployment's instance count.
const MaxInstances = 8

// startGroup starts the deployment's instance count of rel (one for static
// releases), all at once; the first one carries the others as replicas.
// If any does not start, all stop and the first error is returned.
func (s *Service) startGroup(ctx context.Context, rel store.Release) (*instance, error) {
	n := 1
	if rel.Kind != KindStatic {
		if dep, err := s.d.Store.DeploymentForProject(ctx, rel.ProjectID); err == nil && dep.Instances > 1 {
			n = min(dep.Instances, MaxInstances)
		}
	}
	insts, err := s.startInstances(ctx, rel, n)
	if err != nil {
		return nil, err
	}
	reps := insts[1:]
	insts[0].replicas.Store(&reps)
	return insts[0], nil
}

// startInstances starts n instances of rel together: all, or none (the
// started ones stop) and the first error.
func (s *Service) startInstances(ctx context.Context, rel store.Release, n int) ([]*instance, error) {
	insts := make([]*instance, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for k := range n {
		wg.Go(func() { insts[k], errs[k] = s.startInstance(ctx, rel) })
	}
	wg.Wait()
	for k, err := range errs {
		if err == nil {
			continue
		}
		for _, in := range insts {
			if in != nil {
				in.stop()
			}
		}
		if n > 1 {
			return nil, fmt.Errorf("instance %d of %d: %w", k+1, n, err)
		}
		return nil, err
	}
	return insts, nil
}

func (i *instance) setCrashing(v bool) {
	i.mu.Lock()
	i.crashing = v
	i.mu.Unlock()
}

// ErrBadInstances means an instance count out of range.
var ErrBadInstances = fmt.Errorf("deploy: the instance count must be between 1 and %d", MaxInstances)

// StatusPruned is a release whose files were removed (beyond the kept
// ones): listed, no longer activatable.
const StatusPruned = "pruned"

// prune removes the files of the project's releases beyond the newest
// KeepReleases (the active one is always kept, and releases still building
// or starting) and marks them pruned.
func (s *Service) prune(ctx context.Context, projectID string) {
	dep, err := s.d.Store.DeploymentForProject(ctx, projectID)
	if err != nil {
		return
	}
	rels, err := s.d.Store.ListReleases(ctx, projectID)
	if err != nil {
		return
	}
	kept := 0
	for _, r := range rels { // newest first
		switch {
		case r.ID == dep.ActiveReleaseID, r.Status == StatusBuilding, r.Status == StatusStarting:
			continue
		case r.Status == StatusPruned:
			continue
		case kept < s.opts.KeepReleases-1: // the active one counts as kept
			kept++
			continue
		}
		if err := os.RemoveAll(s.releaseDir(projectID, r.ID)); err != nil {
			s.d.Log.Error("prune release", "project_id", projectID, "release_id", r.ID, "err", err)
			continue
		}
		if err := s.d.Store.SetReleaseStatus(ctx, r.ID, StatusPruned, "", s.d.Now()); err != nil {
			s.d.Log.Error("record pruned release", "release_id", r.ID, "err", err)
		}
	}
}
