package api

import (
	"errors"
	"net/http"
	"time"

	"ecode/internal/store"
)

// runJSON is a scheduled deployment's run as the API shows it.
type runJSON struct {
	ID          string     `json:"id"`
	ReleaseID   string     `json:"release_id"`
	ScheduledAt time.Time  `json:"scheduled_at"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	EndedAt     *time.Time `json:"ended_at,omitempty"`
	Status      string     `json:"status"`
	ExitCode    *int       `json:"exit_code,omitempty"`
	Reason      string     `json:"reason,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// listDeploymentRuns is the scheduled deployment's run history, newest
// first (the last 100): runs, and due times skipped or missed.
func (s *Server) listDeploymentRuns(w http.ResponseWriter, r *http.Request) error {
	runs, err := s.store.ListDeploymentRuns(r.Context(), project(r).ID, 100)
	if err != nil {
		return err
	}
	out := make([]runJSON, 0, len(runs))
	for _, run := range runs {
		j := runJSON{ID: run.ID, ReleaseID: run.ReleaseID, ScheduledAt: run.ScheduledAt, StartedAt: optTime(run.StartedAt),
			EndedAt: optTime(run.EndedAt), Status: run.Status, Reason: run.Reason}
		if !run.EndedAt.IsZero() && !run.StartedAt.IsZero() {
			j.ExitCode = &run.ExitCode
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deploymentRunLog(w http.ResponseWriter, r *http.Request) error {
	p := project(r)
	if _, err := s.store.DeploymentRunOf(r.Context(), p.ID, r.PathValue("runid")); errors.Is(err, store.ErrNotFound) {
		return errNotFound("run")
	} else if err != nil {
		return err
	}
	b, err := s.deploy.RunLog(p.ID, r.PathValue("runid"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(b)
	return nil
}
