package app

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"ecode/internal/config"
	"ecode/internal/deploy"
	"ecode/internal/history"
	"ecode/internal/projectdb"
)

// buildDeploy makes the deployment service: releases under
// <data-dir>/deployments, production sandboxes with the projects' limits,
// the router on <slug>.<apps-domain>.
func (s *Server) buildDeploy(cfg *config.Config, now func() time.Time) {
	s.Deploy = deploy.New(deploy.Deps{Store: s.Store, Sandbox: s.Sandbox, Repo: s.Repo, Checkpoints: s.History,
		Env: s.Runner.ProcessEnv, Ignore: history.Ignore, Log: s.Log.With("component", "deploy"), Now: now,
		Usage: s.Billing.Recorder(), Requests: s.Metrics, CopyDevDB: s.copyDevDB(), ProdDB: s.prodDB(),
		CopySQLite: copySQLite, Cluster: s.Cluster, PlanMemory: s.Billing.SandboxMemory,
		PlanCPU: s.Billing.SandboxCPU},
		deploy.Options{Dir: filepath.Join(cfg.DataDir, "deployments"), AppsDomain: cfg.AppsDomain, Limits: s.Runner.Limits(),
			HealthTimeout: cfg.DeployHealth, IdleTimeout: cfg.DeployIdle, KeepReleases: int(cfg.DeployKeep),
			RetryWait: cfg.DeployRetry, UsageFlush: cfg.UsageInterval})
	s.onClose(s.Deploy.Close) // before the sandbox runner closes
}

// copyDevDB copies a project's development SQLite database into a
// deployment's production file (an absent one gives an empty database);
// nil with PostgreSQL project databases (see prodDB).
func (s *Server) copyDevDB() func(ctx context.Context, projectID, dst string) error {
	if s.DBs.Postgres() {
		return nil
	}
	return func(ctx context.Context, projectID, dst string) error {
		var buf bytes.Buffer
		err := s.DBs.DB(projectID).Snapshot(ctx, &buf)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		return (&projectdb.SQLiteDB{Path: dst}).Restore(ctx, &buf)
	}
}

// prodDB gives deployments a production database on the project database
// server when project databases are PostgreSQL ones (nil otherwise).
func (s *Server) prodDB() deploy.ProductionDB {
	if !s.DBs.Postgres() {
		return nil
	}
	return s.DBs
}

// copySQLite copies the SQLite database src into dst: a consistent
// snapshot of src restored into dst in one transaction (release data
// snapshots and their restores).
func copySQLite(ctx context.Context, src, dst string) error {
	var buf bytes.Buffer
	if err := (&projectdb.SQLiteDB{Path: src}).Snapshot(ctx, &buf); err != nil {
		return err
	}
	return (&projectdb.SQLiteDB{Path: dst}).Restore(ctx, &buf)
}
