package billing_test

import (
	"context"
	"errors"
	"testing"

	"ecode/internal/billing"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// The plan's limits on both engines: concurrent runs, deployments (a
// republish is not a new one), the sandbox's memory; and an account whose
// usage leaves no credits is handed to Run's stop.
func TestPlanLimitChecks(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc, pid := setup(t, st)
		if err := svc.PutPlan(ctx, billing.Plan{ID: "tiny", Name: "Tiny", IncludedMicros: 1000, ConcurrentRuns: 2, Deployments: 1, SandboxMemoryMiB: 256,
			ProjectDiskMiB: 512, SandboxCPU: 0.5}); err != nil {
			t.Fatal(err)
		}
		var inv *billing.InvalidError
		if err := svc.PutPlan(ctx, billing.Plan{ID: "bad", Name: "Bad", SandboxMemoryMiB: 8}); !errors.As(err, &inv) {
			t.Fatalf("a plan with an 8 MiB sandbox: %v", err)
		}
		if err := svc.PutPlan(ctx, billing.Plan{ID: "bad", Name: "Bad", SandboxCPU: -1}); !errors.As(err, &inv) || inv.Fields["sandbox_cpu"] == "" {
			t.Fatalf("a plan with -1 vCPU: %v", err)
		}
		if err := svc.PutPlan(ctx, billing.Plan{ID: "bad", Name: "Bad", ProjectDiskMiB: 4}); !errors.As(err, &inv) || inv.Fields["project_disk_mib"] == "" {
			t.Fatalf("a plan with a 4 MiB disk: %v", err)
		}
		if err := svc.AssignPlan(ctx, "u1", "tiny"); err != nil {
			t.Fatal(err)
		}
		limit := func(err error) string {
			var q *billing.QuotaError
			if errors.As(err, &q) {
				return q.Code
			}
			if err != nil {
				t.Fatal(err)
			}
			return ""
		}
		if got := limit(svc.AllowRun(ctx, "u1", billing.WorkRun, 1)); got != "" {
			t.Fatalf("one other run on a plan of two: %s", got)
		}
		if got := limit(svc.AllowRun(ctx, "u1", billing.WorkExec, 2)); got != "quota_runs" {
			t.Fatalf("two other runs on a plan of two: %q", got)
		}
		if got := limit(svc.AllowDeploy(ctx, "u1", pid)); got != "" {
			t.Fatalf("a first deployment: %s", got)
		}
		if err := st.CreateDeployment(ctx, store.Deployment{ProjectID: pid, Slug: "one", Kind: "static", CreatedBy: "u1", CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if got := limit(svc.AllowDeploy(ctx, "u1", pid)); got != "" {
			t.Fatalf("republishing: %s", got)
		}
		if _, err := st.CreateProject(ctx, store.Project{ID: "p2", Name: "two", OwnerID: "u1", CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if got := limit(svc.AllowDeploy(ctx, "u1", "p2")); got != "quota_deployments" {
			t.Fatalf("a second deployment on a plan of one: %q", got)
		}
		if m := svc.SandboxMemory(ctx, pid); m != 256<<20 {
			t.Fatalf("sandbox memory = %d", m)
		}
		if d := svc.ProjectDisk(ctx, pid); d != 512<<20 {
			t.Fatalf("project disk %d, want the plan's 512 MiB", d)
		}
		if d := svc.ProjectDisk(ctx, "nope"); d != 0 {
			t.Fatalf("project disk of an unknown project: %d", d)
		}
		if m := svc.SandboxMemory(ctx, "nope"); m != 0 {
			t.Fatalf("sandbox memory of no project = %d", m)
		}
		if c := svc.SandboxCPU(ctx, pid); c != 0.5 {
			t.Fatalf("sandbox CPU = %g, want the plan's 0.5", c)
		}

		stopped := make(chan string, 1)
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); svc.Run(runCtx, func(_ context.Context, acct string) { stopped <- acct }) }()
		t.Cleanup(func() { cancel(); <-done })
		// 90 CPU-seconds cost 1000 micros: all of Tiny's credits
		if _, err := svc.Recorder().RecordUsage(ctx, store.UsageEvent{ID: "x", IdempotencyKey: "x", ProjectID: pid,
			Kind: "sandbox_cpu_seconds", Quantity: 90, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if acct := <-stopped; acct != "u1" {
			t.Fatalf("stopped %q", acct)
		}
		if got := limit(svc.AllowRun(ctx, "u1", billing.WorkRun, 0)); got != "quota_credits" {
			t.Fatalf("a run without credits: %q", got)
		}
	})
}
