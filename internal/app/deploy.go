package app

import (
	"path/filepath"
	"time"

	"ecode/internal/config"
	"ecode/internal/deploy"
	"ecode/internal/history"
)

// buildDeploy makes the deployment service: releases under
// <data-dir>/deployments, production sandboxes with the projects' limits,
// the router on <slug>.<apps-domain>.
func (s *Server) buildDeploy(cfg *config.Config, now func() time.Time) {
	s.Deploy = deploy.New(deploy.Deps{Store: s.Store, Sandbox: s.Sandbox, Repo: s.Repo, Checkpoints: s.History,
		Env: s.Runner.ProcessEnv, Ignore: history.Ignore, Log: s.Log.With("component", "deploy"), Now: now,
		Usage: s.Billing.Recorder(), Requests: s.Metrics},
		deploy.Options{Dir: filepath.Join(cfg.DataDir, "deployments"), AppsDomain: cfg.AppsDomain, Limits: s.Runner.Limits(),
			HealthTimeout: cfg.DeployHealth, IdleTimeout: cfg.DeployIdle, KeepReleases: int(cfg.DeployKeep)})
	s.onClose(s.Deploy.Close) // before the sandbox runner closes
}
