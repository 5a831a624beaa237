package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"ecode/internal/api"
	"ecode/internal/client"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// A checkpoint restored on the project's owner makes every node drop the
// project's open folder, so that a node which had read the files before
// opens them again (through the restore guard) and reads what the restore
// put back.
func TestClusterRestoreForgetsOpenFoldersEverywhere(t *testing.T) {
	n := clusterNodes(t, "", "a", "b")
	a, b := n[0], n[1]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin := a.User(t, "admin")
	p, err := admin.CreateProject(ctx, "restored", "static")
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.WriteFile(ctx, p.ID, "index.html", []byte("one")); err != nil {
		t.Fatal(err)
	}
	mustExec(t, ctx, admin, p.ID, "true") // node A owns the project: the restore runs there
	if got := ownerOf(t, b, p.ID); got != "a" {
		t.Fatalf("owner %s, want a", got)
	}
	var cp struct {
		ID string `json:"id"`
	}
	if err := admin.Do(ctx, "POST", "/api/projects/"+p.ID+"/checkpoints", strings.NewReader(`{"message":"one"}`), "application/json", &cp); err != nil {
		t.Fatal(err)
	}
	if err := admin.WriteFile(ctx, p.ID, "index.html", []byte("two")); err != nil {
		t.Fatal(err)
	}
	if got, err := on(b, admin).ReadFile(ctx, p.ID, "index.html"); err != nil || string(got) != "two" {
		t.Fatalf("read on B before the restore: %q, %v", got, err)
	}
	if !b.Files.Cached(p.ID) {
		t.Fatal("node B did not keep the folder it read open")
	}

	if err := on(b, admin).Do(ctx, "POST", "/api/projects/"+p.ID+"/checkpoints/"+cp.ID+"/restore", nil, "", nil); err != nil {
		t.Fatal(err)
	}
	if b.Files.Cached(p.ID) {
		t.Error("node B still has the project's folder open after a restore on node A")
	}
	if got, err := on(b, admin).ReadFile(ctx, p.ID, "index.html"); err != nil || string(got) != "one" {
		t.Errorf("read on B after the restore: %q, %v; want the checkpoint's", got, err)
	}
}

// When the owner's credits run out on a node that does not run the
// project, the dev run stops on the node that does (a signed call to it),
// with reason quota.
func TestClusterQuotaStopsTheRunWhereItRuns(t *testing.T) {
	n := clusterNodes(t, "", "a", "b")
	a, b := n[0], n[1]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, p := clusterAppProject(ctx, t, a, "paid")
	mustExec(t, ctx, on(b, admin), p.ID, "true") // node B owns the project
	if err := admin.Do(ctx, "POST", "/api/projects/"+p.ID+"/run", nil, "", nil); err != nil {
		t.Fatal(err)
	}
	running := func(s runState) bool { return s.State == "running" || s.State == "starting" }
	waitRunOn(ctx, t, b, admin, p.ID, running)
	if a.Runner.Active() != 0 {
		t.Fatal("the run started on node A, want B")
	}

	// Usage recorded on A leaves nothing: A's billing decides. (Node B
	// would find out by itself when its sandbox's usage is next recorded,
	// every minute: the sandbox usage recorded must not change before the
	// run stops, or B did not hear it from A.)
	sandboxUsage := func() float64 {
		v, err := a.Store.UsageTotal(ctx, p.ID, "sandbox_gib_seconds")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := sandboxUsage()
	if _, err := a.Billing.Recorder().RecordUsage(ctx, store.UsageEvent{ID: "big", IdempotencyKey: "cluster-run-quota", ProjectID: p.ID,
		Kind: "sandbox_cpu_seconds", Quantity: 3600 * 1000, CreatedAt: a.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	st := waitRunOn(ctx, t, b, admin, p.ID, func(s runState) bool { return !running(s) })
	if st.State != "stopped" || st.Reason != "quota" {
		t.Fatalf("run on B after the credits ran out on A: %+v, want stopped with reason quota", st)
	}
	if after := sandboxUsage(); after != before {
		t.Fatalf("the run stopped after node B recorded its sandbox's usage (%v GiB-s, then %v): B found out by itself, not from A", before, after)
	}
}

// waitRunOn waits, on node n's runner change notifications, until cond
// holds for the run as c sees it (waitRun with the caller's deadline).
func waitRunOn(ctx context.Context, t *testing.T, n *testutil.Server, c *client.Client, id string, cond func(runState) bool) runState {
	t.Helper()
	for {
		changed := n.Runner.Changed()
		var st runState
		if err := c.Do(ctx, "GET", "/api/projects/"+id+"/run", nil, "", &st); err != nil {
			t.Fatal(err)
		}
		if cond(st) {
			return st
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("run never reached the wanted state; last %+v", st)
		}
	}
}

// While the node that ran a deployment is dead and its lease has not run
// out, the deployment's status through another node is still answered
// (200), from the store: what is recorded, the instances unknown, moving.
func TestClusterDeploymentStatusWhileItsNodeIsDead(t *testing.T) {
	n := clusterNodes(t, "", "a", "b")
	a, b := n[0], n[1]
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	admin, p := clusterAppProject(ctx, t, a, "published")
	publishOn(t, b, admin, p.ID, `{"kind":"server"}`)
	type status struct {
		Status    string `json:"status"`
		Instances *int   `json:"instances"`
		Moving    bool   `json:"moving"`
	}
	var st status
	if err := admin.Do(ctx, "GET", "/api/projects/"+p.ID+"/deployment", nil, "", &st); err != nil {
		t.Fatal(err)
	}
	if st.Status != "live" || st.Instances == nil || *st.Instances != 1 || st.Moving {
		t.Fatalf("status through A while B runs the app: %+v", st)
	}

	b.Kill()
	if got := deployOwner(t, a, p.ID); got != "b" {
		t.Fatalf("owner right after B died: %q, want b (its lease still runs)", got)
	}
	st = status{}
	if err := admin.Do(ctx, "GET", "/api/projects/"+p.ID+"/deployment", nil, "", &st); err != nil {
		t.Fatalf("status through A while B is dead: %v", err)
	}
	if st.Status != "live" || st.Instances != nil || !st.Moving {
		t.Fatalf("status through A while B is dead: %+v, want live, instances unknown, moving", st)
	}
}

// clusterAppProject makes the admin's python project name on node n, with
// clusterApp as its main.py.
func clusterAppProject(ctx context.Context, t *testing.T, n *testutil.Server, name string) (*client.Client, api.Project) {
	t.Helper()
	admin := n.User(t, "admin")
	p, err := admin.CreateProject(ctx, name, "python")
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.WriteFile(ctx, p.ID, "main.py", []byte(clusterApp)); err != nil {
		t.Fatal(err)
	}
	return admin, p
}
