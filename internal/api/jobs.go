package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"ecode/internal/jobs"
	"ecode/internal/store"
)

// adminListJobs answers the job queue: counts by state and the newest jobs
// in ?state= (default running), ?limit= (at most 200), with their errors.
func (s *Server) adminListJobs(w http.ResponseWriter, r *http.Request) error {
	state := r.URL.Query().Get("state")
	if state == "" {
		state = "running"
	}
	if !slices.Contains(jobs.States, state) {
		return errInvalid(map[string]string{"state": "must be one of the job states"})
	}
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return errInvalid(map[string]string{"limit": "must be 1 to 200"})
		}
		limit = n
	}
	counts, err := s.jobs.Counts(r.Context())
	if err != nil {
		return errInternal(err)
	}
	list, err := s.jobs.List(r.Context(), state, limit)
	if err != nil {
		return errInternal(err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"states": jobs.States, "counts": counts, "jobs": list})
	return nil
}

// adminRetryJob makes a job run again now.
func (s *Server) adminRetryJob(w http.ResponseWriter, r *http.Request) error {
	return s.jobAction(w, r, s.jobs.Retry)
}

// adminCancelJob cancels a job.
func (s *Server) adminCancelJob(w http.ResponseWriter, r *http.Request) error {
	return s.jobAction(w, r, s.jobs.Cancel)
}

func (s *Server) jobAction(w http.ResponseWriter, r *http.Request, act func(ctx context.Context, id string) (jobs.Job, error)) error {
	j, err := act(r.Context(), r.PathValue("jid"))
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("job")
	}
	if err != nil {
		return errInternal(err)
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}
