package deploy_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"ecode/internal/billing"
	"ecode/internal/client"
	"ecode/internal/deploy"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// TestSizeOverPlanCPU: a plan caps a deployment's size by CPU as well as
// memory: on a plan of 0.5 vCPU (and memory enough), the sizes list marks
// medium (1 vCPU) not allowed, saying why, and small allowed; publishing
// at medium is refused 402 quota naming the size field.
func TestSizeOverPlanCPU(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		var me struct{ ID string }
		if err := e.c.Do(ctx, "GET", "/api/me", nil, "", &me); err != nil {
			t.Fatal(err)
		}
		half := billing.Plan{ID: "halfcpu", Name: "Half CPU", IncludedMicros: 10_000_000, SandboxMemoryMiB: 4096, SandboxCPU: 0.5}
		if err := e.srv.Billing.PutPlan(ctx, half); err != nil {
			t.Fatal(err)
		}
		if err := e.srv.Billing.AssignPlan(ctx, me.ID, "halfcpu"); err != nil {
			t.Fatal(err)
		}
		p, err := e.c.CreateProject(ctx, "Capped", "node")
		if err != nil {
			t.Fatal(err)
		}
		var v struct{ Sizes []deploy.SizeChoice }
		if err := e.c.Do(ctx, "GET", "/api/projects/"+p.ID+"/deployment", nil, "", &v); err != nil {
			t.Fatal(err)
		}
		allowed := map[string]deploy.SizeChoice{}
		for _, c := range v.Sizes {
			allowed[c.Name] = c
		}
		if c := allowed["small"]; !c.Allowed {
			t.Fatalf("small (0.5 vCPU) on a 0.5 vCPU plan: %+v, want allowed", c)
		}
		if c := allowed["medium"]; c.Allowed || !strings.Contains(c.Reason, "the plan allows 0.5 vCPU") {
			t.Fatalf("medium (1 vCPU) on a 0.5 vCPU plan: %+v, want not allowed with the plan's CPU as the reason", c)
		}
		err = e.c.Do(ctx, "POST", "/api/projects/"+p.ID+"/deployment/publish", strings.NewReader(`{"kind":"server","size":"medium"}`), "application/json", nil)
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != 402 || ce.Code != "quota" || !strings.Contains(ce.Fields["size"], "the plan allows 0.5 vCPU") {
			t.Fatalf("publishing at medium on a 0.5 vCPU plan: %v, want 402 quota naming size", err)
		}
	})
}
