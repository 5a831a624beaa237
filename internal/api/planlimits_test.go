package api_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"ecode/internal/billing"
	"ecode/internal/client"
	"ecode/internal/store"
)

// quotaRefusal asserts err is the 402 quota refusal of limit.
func quotaRefusal(t *testing.T, what string, err error, limit string) {
	t.Helper()
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 402 || ce.Code != "quota" || ce.Fields["limit"] != limit || ce.Fields["link"] == "" {
		t.Fatalf("%s: %v, want 402 quota %s", what, err, limit)
	}
}

// The plan's limits where work starts: projects (create), concurrent runs
// (run and exec in another project; a command beside a project's own run
// is allowed), deployments (publish), the sandbox's memory (the runner's
// limits come from the plan); and running apps stopped with reason
// "quota" when the credits run out.
func TestQuotaPlanLimits(t *testing.T) {
	srv, c := sandboxServer(t)
	ctx := context.Background()
	var me struct{ ID string }
	if err := c.Do(ctx, "GET", "/api/me", nil, "", &me); err != nil {
		t.Fatal(err)
	}
	tiny := billing.Plan{ID: "tiny", Name: "Tiny", IncludedMicros: 10_000_000, MaxProjects: 2, ConcurrentRuns: 1, Deployments: 1, SandboxMemoryMiB: 128}
	if err := srv.Billing.PutPlan(ctx, tiny); err != nil {
		t.Fatal(err)
	}
	if err := srv.Billing.AssignPlan(ctx, me.ID, "tiny"); err != nil {
		t.Fatal(err)
	}
	a, err := c.CreateProject(ctx, "a", "blank")
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.CreateProject(ctx, "b", "blank")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateProject(ctx, "c", "blank")
	quotaRefusal(t, "a third project", err, "quota_projects")

	for _, p := range []string{a.ID, b.ID} {
		if err := c.WriteFile(ctx, p, ".ecode.toml", []byte("run = \"sleep 600\"\n")); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Do(ctx, "POST", "/api/projects/"+a.ID+"/run", nil, "", nil); err != nil {
		t.Fatal(err)
	}
	// sleep listens on no port: the run stays "starting", which counts as running
	st := waitRun(t, srv, c, a.ID, func(s runState) bool { return s.State == "running" || s.State == "starting" && s.Phase == "run" })
	if st.Limits.MemoryBytes != 128<<20 {
		t.Fatalf("sandbox memory = %d, want the plan's 128 MiB", st.Limits.MemoryBytes)
	}
	quotaRefusal(t, "a second project running", c.Do(ctx, "POST", "/api/projects/"+b.ID+"/run", nil, "", nil), "quota_runs")
	quotaRefusal(t, "a command in another project", c.Do(ctx, "POST", "/api/projects/"+b.ID+"/exec",
		strings.NewReader(`{"command":"true"}`), "application/json", nil), "quota_runs")
	var res struct {
		ExitCode int    `json:"exit_code"`
		Stdout   string `json:"stdout"`
	}
	// beside its own run, a command adds no sandbox: allowed, and its
	// sandbox has the plan's memory (cgroup memory.max when there is one)
	if err := c.Do(ctx, "POST", "/api/projects/"+a.ID+"/exec", strings.NewReader(`{"command":"echo ok"}`), "application/json", &res); err != nil || res.ExitCode != 0 {
		t.Fatalf("a command beside the project's own run: %+v %v", res, err)
	}

	if err := c.Do(ctx, "POST", "/api/projects/"+a.ID+"/deployment/publish", strings.NewReader(`{"kind":"static"}`), "application/json", nil); err != nil {
		t.Fatal(err)
	}
	quotaRefusal(t, "a second deployment", c.Do(ctx, "POST", "/api/projects/"+b.ID+"/deployment/publish",
		strings.NewReader(`{"kind":"static"}`), "application/json", nil), "quota_deployments")
	if err := c.Do(ctx, "POST", "/api/projects/"+a.ID+"/deployment/publish", strings.NewReader(`{"kind":"static"}`), "application/json", nil); err != nil {
		t.Fatalf("republishing the one deployment: %v", err)
	}

	// The credits run out: usage that leaves nothing stops the running app.
	if _, err := srv.Billing.Recorder().RecordUsage(ctx, store.UsageEvent{ID: "big", IdempotencyKey: "limits-big", ProjectID: a.ID,
		Kind: "sandbox_cpu_seconds", Quantity: 3600 * 1000, CreatedAt: srv.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	st = waitRun(t, srv, c, a.ID, func(s runState) bool { return s.State != "running" && s.State != "starting" })
	if st.State != "stopped" || st.Reason != "quota" {
		t.Fatalf("run after the credits ran out: %+v, want stopped with reason quota", st)
	}
	quotaRefusal(t, "a run without credits", c.Do(ctx, "POST", "/api/projects/"+a.ID+"/run", nil, "", nil), "quota_credits")
}
