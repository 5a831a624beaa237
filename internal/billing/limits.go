package billing

import (
	"context"
	"fmt"
)

// planOf is the account's plan.
func (s *Service) planOf(ctx context.Context, accountID string) (Plan, error) {
	acct, err := s.st.BillingAccount(ctx, accountID)
	if err != nil {
		return Plan{}, err
	}
	return s.plan(ctx, acct.Plan)
}

// AllowRun refuses a run or exec when the account already has its plan's
// concurrent runs going in other projects (running is that count: a
// command in a project whose app runs adds no sandbox), then checks the
// credits as Allow does.
func (s *Service) AllowRun(ctx context.Context, accountID, what string, running int) error {
	plan, err := s.planOf(ctx, accountID)
	if err != nil {
		return err
	}
	if plan.ConcurrentRuns > 0 && running >= plan.ConcurrentRuns {
		return &QuotaError{Code: "quota_runs", What: what, Link: s.opts.TopUpURL,
			Message: fmt.Sprintf("plan %s allows %d projects running at once: stop one or upgrade", plan.Name, plan.ConcurrentRuns)}
	}
	return s.Allow(ctx, accountID, what)
}

// AllowDeploy refuses publishing projectID when the account already has
// its plan's deployments in other projects, then checks the credits.
func (s *Service) AllowDeploy(ctx context.Context, accountID, projectID string) error {
	plan, err := s.planOf(ctx, accountID)
	if err != nil {
		return err
	}
	if plan.Deployments > 0 {
		n, err := s.st.CountOwnedDeployments(ctx, accountID, projectID)
		if err != nil {
			return err
		}
		if n >= plan.Deployments {
			return &QuotaError{Code: "quota_deployments", What: WorkDeploy, Link: s.opts.TopUpURL,
				Message: fmt.Sprintf("plan %s allows %d deployments: remove one or upgrade", plan.Name, plan.Deployments)}
		}
	}
	return s.Allow(ctx, accountID, WorkDeploy)
}

// SandboxMemory is the sandbox memory (bytes) of a project's owner's plan;
// 0 when the plan sets none (or the owner is unknown): the server's default.
func (s *Service) SandboxMemory(ctx context.Context, projectID string) int64 {
	plan, ok := s.projectPlan(ctx, projectID)
	if !ok || plan.SandboxMemoryMiB <= 0 {
		return 0
	}
	return int64(plan.SandboxMemoryMiB) << 20
}

// ProjectDisk is the project disk (bytes) of a project's owner's plan; 0
// when the plan sets none (or the owner is unknown): the server's
// --project-disk.
func (s *Service) ProjectDisk(ctx context.Context, projectID string) int64 {
	plan, ok := s.projectPlan(ctx, projectID)
	if !ok || plan.ProjectDiskMiB <= 0 {
		return 0
	}
	return int64(plan.ProjectDiskMiB) << 20
}

// projectPlan is the plan of a project's owner; false when either is unknown.
func (s *Service) projectPlan(ctx context.Context, projectID string) (Plan, bool) {
	owner, err := s.st.ProjectOwner(ctx, projectID)
	if err != nil {
		return Plan{}, false
	}
	plan, err := s.planOf(ctx, owner)
	return plan, err == nil
}

// SandboxCPU is the CPU (cores) a deployment's size may have on the
// project's owner's plan; 0 when the plan sets none (or the owner is
// unknown): no cap beyond the server's.
func (s *Service) SandboxCPU(ctx context.Context, projectID string) float64 {
	if plan, ok := s.projectPlan(ctx, projectID); ok && plan.SandboxCPU > 0 {
		return plan.SandboxCPU
	}
	return 0
}

// Run stops the work of accounts whose credits ran out: each time usage
// leaves an account with nothing left, stop(ctx, account) is called (the
// app stops its projects' runs with reason "quota"). It returns when ctx ends.
func (s *Service) Run(ctx context.Context, stop func(ctx context.Context, accountID string)) {
	for {
		select {
		case <-ctx.Done():
			return
		case acct := <-s.exhausted:
			stop(ctx, acct)
		}
	}
}
