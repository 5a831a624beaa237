package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"ecode/internal/store"
)

// Suspension: a deployment whose owner may not run it now (ReasonQuota:
// the credits are used up) is stopped at once and its active release
// marked suspended, with the reason; the router answers a page saying the
// app is paused. The mark is kept in the release row, so a restart does
// not bring the app back; publishing again, or activating a release,
// does (the API checks the credits first).

// StatusSuspended is a release stopped by Suspend while active.
const StatusSuspended = "suspended"

// ReasonQuota is why a deployment is suspended when its owner's credits
// are used up.
const ReasonQuota = "quota"

// suspendedReason is the reason recorded on the release for a reason code.
func suspendedReason(code string) string {
	if code == ReasonQuota {
		return ReasonQuota + ": its owner's credits are used up; top up, then publish again"
	}
	return code
}

// reasonCode is the code a recorded reason starts with.
func reasonCode(reason string) string {
	code, _, _ := strings.Cut(reason, ":")
	return code
}

// Suspend stops the project's deployment for reason (a code, such as
// ReasonQuota): its instances stop without draining, a scheduled run in
// progress is cancelled and later due times are not run, the active
// release is recorded as suspended, and the project's owner is notified.
// It reports false when there was nothing to stop (never published, or
// already suspended).
func (s *Service) Suspend(ctx context.Context, projectID, reason string) (bool, error) {
	dep, err := s.d.Store.DeploymentForProject(ctx, projectID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && dep.ActiveReleaseID == "") {
		return false, nil
	} else if err != nil {
		return false, err
	}
	rel, err := s.d.Store.ReleaseOf(ctx, projectID, dep.ActiveReleaseID)
	if err != nil {
		return false, err
	}
	d := s.deployment(projectID, dep.Slug)
	if d == nil {
		return false, ErrProjectStopped
	}
	d.mu.Lock()
	already := d.suspended != "" && rel.Status == StatusSuspended
	inst := d.active
	d.active, d.asleep, d.suspended = nil, nil, reason
	d.mu.Unlock()
	s.mu.Lock()
	if r, ok := s.runs[projectID]; ok {
		r.cancel() // its sandbox closes; the run is recorded as stopped
	}
	s.mu.Unlock()
	if inst != nil {
		inst.stop()
	}
	if already {
		return false, nil
	}
	why := suspendedReason(reason)
	s.d.Log.Info("deployment suspended", "project_id", projectID, "release_id", rel.ID, "reason", reason)
	if owner, err := s.d.Store.ProjectOwner(ctx, projectID); err == nil && s.Notify != nil { // told before the status shows
		s.Notify(ctx, owner, "deploy_suspended", "Deployment paused", "Your published app "+dep.Slug+" was stopped: "+why+".",
			"/projects/"+projectID+"?pane=deployments")
	}
	err = s.d.Store.SetReleaseStatus(ctx, rel.ID, StatusSuspended, why, s.d.Now())
	s.notifyChanged()
	if err != nil {
		return true, fmt.Errorf("record the suspended release: %w", err)
	}
	return true, nil
}

// ErrCreditsRanOut fails a release whose build finished after its owner's
// credits ran out: it does not go live, the live release stays.
var ErrCreditsRanOut = errors.New("credits ran out during the build: the live release stays; top up, then publish again")

// creditsLeft is asked when a newly built release is about to go live:
// ErrCreditsRanOut when its owner's credits ran out meanwhile (CreditsLeft
// says so; without it, when the deployment was suspended for quota).
func (s *Service) creditsLeft(ctx context.Context, rel store.Release) error {
	if s.CreditsLeft != nil {
		if !s.CreditsLeft(ctx, rel.ProjectID) {
			return ErrCreditsRanOut
		}
		return nil
	}
	if d := s.live(rel.ProjectID); d != nil && d.suspension() == ReasonQuota {
		return ErrCreditsRanOut
	}
	return nil
}

// suspension is why the deployment is suspended ("" when it is not).
func (d *deployment) suspension() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.suspended
}

// suspendedNow reports whether the project's deployment is suspended in
// this process.
func (s *Service) suspendedNow(projectID string) bool {
	s.mu.Lock()
	d := s.deps[projectID]
	s.mu.Unlock()
	return d != nil && d.suspension() != ""
}

// resumeSuspended keeps a deployment suspended at startup when its active
// release is; false when it must be started.
func (s *Service) resumeSuspended(d *deployment, rel store.Release) bool {
	if rel.Status != StatusSuspended {
		return false
	}
	d.mu.Lock()
	d.suspended = reasonCode(rel.Reason)
	d.mu.Unlock()
	s.notifyChanged()
	return true
}

// pausedPage answers a request to a suspended deployment: 503 (the app is
// back once its owner tops up and publishes again), with the reason.
func pausedPage(w http.ResponseWriter, code string) {
	w.Header().Set("Retry-After", "3600")
	if code == ReasonQuota {
		appPage(w, http.StatusServiceUnavailable, "This app is paused", "This app is paused: its owner's credits are used up.")
		return
	}
	appPage(w, http.StatusServiceUnavailable, "This app is paused", "Its owner's deployment is stopped ("+code+").")
}
