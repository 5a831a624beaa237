package app

import (
	"context"
	"time"

	"ecode/internal/billing"
	"ecode/internal/jobs"
	"ecode/internal/projects"
)

// The periodic maintenance the job queue runs (on one node of a cluster).
type (
	// checkpointGC frees the objects no checkpoint refers to any more.
	checkpointGC struct{}
	// sessionSweep deletes expired sessions.
	sessionSweep struct{}
	// errorRetention deletes tracked errors' occurrences older than
	// --error-retention and the groups left without any.
	errorRetention struct{}
)

func (checkpointGC) Kind() string   { return "checkpoint_gc" }
func (sessionSweep) Kind() string   { return "session_sweep" }
func (errorRetention) Kind() string { return "error_retention" }

// buildJobs makes the job queue on the store (its tables migrated first)
// with its handlers and schedules; Run works it.
func (s *Server) buildJobs(ctx context.Context, d Deps, poll time.Duration) error {
	if err := jobs.Migrate(ctx, d.Store); err != nil {
		return err
	}
	var err error
	s.Jobs, err = jobs.New(ctx, jobs.Options{Store: d.Store, Log: d.Log, Now: d.JobClock, Poll: poll, Timeout: d.JobRescueAfter, RescueAfter: d.JobRescueAfter, Observe: func(kind, state string, wait, run time.Duration) {
		s.Metrics.ObserveJob(kind, state, wait, run)
		if s.OnJob != nil {
			s.OnJob(kind, state)
		}
	}, Tracer: s.Tracing})
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
	jobs.Handle(s.Jobs, func(ctx context.Context, _ errorRetention, _ int) error {
		events, groups, err := s.Errors.Prune(ctx)
		if events > 0 || groups > 0 {
			s.Log.Info("pruned tracked errors", "component", "errtrack", "events", events, "groups", groups)
		}
		return err
	})
	jobs.Handle(s.Jobs, func(ctx context.Context, j projects.DeleteJob, attempt int) error {
		return s.Projects.FinishDeletion(ctx, j, attempt)
	})
	jobs.Handle(s.Jobs, func(ctx context.Context, _ billing.ReportJob, _ int) error {
		n, err := s.Billing.ReportUsage(ctx)
		if n > 0 {
			s.Log.Info("usage reported to Stripe", "events", n)
		}
		return err
	})
	jobs.Handle(s.Jobs, func(ctx context.Context, _ billing.StorageJob, _ int) error {
		n, err := s.Billing.SampleStorage(ctx, s.storageProbe)
		s.Log.Info("storage sampled", "projects", n, "err", err)
		return err
	})
	s.handleBackups()
	s.Metrics.JobKinds(checkpointGC{}.Kind(), sessionSweep{}.Kind(), errorRetention{}.Kind(), projects.DeleteJob{}.Kind(), billing.ReportJob{}.Kind(),
		billing.StorageJob{}.Kind(), backupJob{}.Kind())
	s.Jobs.Every("checkpoint_gc", time.Hour, checkpointGC{}, false)
	s.Jobs.Every("session_sweep", time.Hour, sessionSweep{}, true)
	s.Jobs.Every("error_retention", time.Hour, errorRetention{}, true)
	// Daily, and at start: a day's sample is recorded once (its key is the
	// project and the day), so restarts and several nodes add nothing.
	s.Jobs.Every("storage_sample", 24*time.Hour, billing.StorageJob{}, true)
	if s.Billing.StripeEnabled() {
		s.Jobs.Every("stripe_usage_report", time.Minute, billing.ReportJob{}, true)
	}
}
