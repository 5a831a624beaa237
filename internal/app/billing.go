package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"path/filepath"
	"time"

	"ecode/internal/agent"
	"ecode/internal/billing"
	"ecode/internal/config"
	"ecode/internal/deploy"
	"ecode/internal/sandbox"
	"ecode/internal/store"
)

// buildBilling makes the billing service: AI tokens priced from the agent's
// model table (converted once to integer micro-units per million tokens).
// notify tells a user of the 80% warning. With --stripe-api-key, Checkout
// and usage reporting go to Stripe (or --stripe-api-url, e.g. stripe-mock).
func buildBilling(cfg *config.Config, st *store.Store, log *slog.Logger, now func() time.Time,
	notify func(ctx context.Context, userID, kind, title, body, link string)) (*billing.Service, error) {
	packs, err := billing.ParseCreditPacks(cfg.StripeCreditPacks)
	if err != nil {
		return nil, fmt.Errorf("stripe-credit-packs: %w", err)
	}
	models := map[string]billing.TokenPrices{}
	for id, m := range agent.DefaultModels() {
		p := m.Price
		models[id] = billing.TokenPrices{Input: usdMicros(p.Input), Output: usdMicros(p.Output),
			CacheRead: usdMicros(p.CacheRead), CacheWrite: usdMicros(p.CacheWrite5m)}
	}
	if now == nil {
		now = time.Now
	}
	return billing.New(st, billing.Options{DefaultPlan: cfg.BillingDefaultPlan, Models: models, Now: now,
		Log: log.With("component", "billing"), Notify: notify,
		Stripe: billing.StripeOptions{APIKey: cfg.StripeAPIKey, WebhookSecret: cfg.StripeWebhookSecret, APIURL: cfg.StripeAPIURL,
			MeterEvent: cfg.StripeMeterEvent, Packs: packs}}), nil
}

// usdMicros converts a model table price (dollars) to micro-units, once, at start.
func usdMicros(usd float64) int64 { return int64(math.Round(usd * 1e6)) }

// classifyWithModel lets the billing classifier ask the agent's model.
func (s *Server) classifyWithModel(cfg *config.Config) {
	if cfg.BillingClassifier != "model" {
		return
	}
	s.Billing.SetClassifier(func(ctx context.Context, rubric, prompt string) (string, error) {
		return s.Agent.Classify(ctx, rubric, prompt)
	})
}

// storageProbe measures what a project stores for the daily storage
// sample: the bytes of its files (on its volume, if it has one; a SQLite
// database is among them), the checkpoint objects it added, and its
// PostgreSQL database.
func (s *Server) storageProbe(ctx context.Context, projectID string) (int64, error) {
	var files int64
	err := filepath.WalkDir(s.Files.Dir(projectID), func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				files += info.Size()
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return 0, fmt.Errorf("storage of %s: %w", projectID, err)
	}
	checkpoints, err := s.History.CheckpointBytes(ctx, projectID)
	if err != nil {
		return 0, err
	}
	db, err := s.DBs.Size(ctx, projectID)
	if err != nil {
		return 0, fmt.Errorf("database size of %s: %w", projectID, err)
	}
	return files + checkpoints + db, nil
}

// planLimits gives a project's sandbox the memory and disk of its owner's
// plan, at most the server's --sandbox-memory and --project-disk (the
// ceilings any sandbox gets); the flags when the plan sets none.
func (s *Server) planLimits(projectID string, l sandbox.Limits) sandbox.Limits {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if mem := s.Billing.SandboxMemory(ctx, projectID); mem > 0 && mem < l.MemoryBytes {
		l.MemoryBytes = mem
	}
	// The plan's disk, at most --project-disk (when that is not 0, no
	// limit). The Kubernetes runner asks for it as the pod's ephemeral
	// storage; the local runner's disk is the project volume, of
	// --project-disk.
	if disk := s.Billing.ProjectDisk(ctx, projectID); disk > 0 && (l.DiskBytes == 0 || disk < l.DiskBytes) {
		l.DiskBytes = disk
	}
	return l
}

// stopRunsOf stops the running apps and the deployments of an account
// whose credits ran out, with reason "quota" (its next run or publish is
// refused until it tops up; a suspended deployment's URL answers a page
// saying the app is paused, and its owner is notified). Each is stopped on
// whichever node runs it, several at once.
func (s *Server) stopRunsOf(ctx context.Context, accountID string) {
	s.suspendDeploymentsOf(ctx, accountID)
	ids, err := s.Store.OwnedProjects(ctx, accountID)
	if err != nil {
		s.Log.Warn("list the projects of an account over quota", "account", accountID, "err", err)
		return
	}
	for _, o := range s.API.StopRuns(ctx, ids, "quota") {
		if o.Err != nil {
			s.Log.Warn("stop a run over quota", "project", o.ProjectID, "err", o.Err)
		} else if o.Done {
			s.Log.Info("run stopped: credits used up", "project", o.ProjectID, "account", accountID)
		}
	}
}

// suspendDeploymentsOf suspends the deployments of an account whose
// credits ran out.
func (s *Server) suspendDeploymentsOf(ctx context.Context, accountID string) {
	ids, err := s.Store.OwnedDeployments(ctx, accountID)
	if err != nil {
		s.Log.Warn("list deployments over quota", "account", accountID, "err", err)
		return
	}
	for _, o := range s.API.SuspendDeployments(ctx, ids, deploy.ReasonQuota) { // on the node running each
		if o.Err != nil {
			s.Log.Warn("suspend a deployment over quota", "project", o.ProjectID, "err", o.Err)
		} else if o.Done {
			s.Log.Info("deployment suspended: credits used up", "project", o.ProjectID, "account", accountID)
		}
	}
}

// creditsLeft says whether a project's owner still has credits (a release
// built meanwhile goes live only then); a failed look-up says yes, logged,
// as the credits are checked again with the next usage.
func (s *Server) creditsLeft(ctx context.Context, projectID string) bool {
	owner, err := s.Store.ProjectOwner(ctx, projectID)
	if err == nil {
		err = s.Billing.Allow(ctx, owner, billing.WorkDeploy)
	}
	var quota *billing.QuotaError
	if errors.As(err, &quota) {
		return false
	}
	if err != nil {
		s.Log.Warn("check the credits before a release goes live", "project", projectID, "err", err)
	}
	return true
}
