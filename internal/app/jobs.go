package app

import (
	"context"
	"time"

	"ecode/internal/jobs"
	"ecode/internal/projects"
)

// The periodic maintenance the job queue runs (on one node of a cluster).
type (
	// checkpointGC frees the objects no checkpoint refers to any more.
	checkpointGC struct{}
	// sessionSweep deletes expired sessions.
	sessionSweep struct{}
)

func (checkpointGC) Kind() string { return "checkpoint_gc" }
func (sessionSweep) Kind() string { return "session_sweep" }

// buildJobs makes the job queue on the store (its tables migrated first)
// with its handlers and schedules; Run works it.
func (s *Server) buildJobs(ctx context.Context, d Deps) error {
	if err := jobs.Migrate(ctx, d.Store); err != nil {
		return err
	}
	var err error
	s.Jobs, err = jobs.New(ctx, jobs.Options{Store: d.Store, Log: d.Log, Now: d.JobClock, Observe: s.Metrics.ObserveJob, Tracer: s.Tracing})
	if err != nil {
		return err
	}
	s.onClose(s.Jobs.Close)
	s.Metrics.GaugeVec("ecode_jobs", "Jobs in the queue by state.", "state", func() map[string]float64 {
		counts, _ := s.Jobs.Counts(context.Background())
		out := map[string]float64{}
		for _, st := range jobs.States {
			out[st] = float64(counts[st])
		}
		return out
	})
	return nil
}

// handleJobs registers the handlers and schedules, once every service exists.
func (s *Server) handleJobs() {
	gcLog := s.Log.With("component", "checkpoints")
	jobs.Handle(s.Jobs, func(ctx context.Context, _ checkpointGC, _ int) error {
		st, err := s.History.GC(ctx)
		if err == nil {
			gcLog.Info("checkpoint garbage collection", "objects", st.Objects, "deleted", st.Deleted, "deleted_bytes", st.DeletedBytes)
		}
		return err
	})
	jobs.Handle(s.Jobs, func(ctx context.Context, _ sessionSweep, _ int) error {
		n, err := s.Auth.SweepSessions(ctx)
		if n > 0 {
			s.Log.Info("swept expired sessions", "count", n)
		}
		return err
	})
	jobs.Handle(s.Jobs, func(ctx context.Context, j projects.DeleteJob, attempt int) error {
		return s.Projects.FinishDeletion(ctx, j, attempt)
	})
	s.Metrics.JobKinds(checkpointGC{}.Kind(), sessionSweep{}.Kind(), projects.DeleteJob{}.Kind())
	s.Jobs.Every("checkpoint_gc", time.Hour, checkpointGC{}, false)
	s.Jobs.Every("session_sweep", time.Hour, sessionSweep{}, true)
}
