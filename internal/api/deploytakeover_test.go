package api_test

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestClusterDeploymentActionsAfterItsNodeDied: once the lease of the node
// running a deployment ran out (the node died), a change of settings, a
// rollback and a publish through another node take the deployment over
// there and act on it: the app then runs on that node.
func TestClusterDeploymentActionsAfterItsNodeDied(t *testing.T) {
	n := clusterNodes(t, "", "a", "b")
	a, b := n[0], n[1]
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	admin, p := clusterAppProject(ctx, t, a, "taken")
	publishOn(t, b, admin, p.ID, `{"kind":"server"}`)
	b.Clock.Advance(time.Second)
	publishOn(t, b, admin, p.ID, `{"kind":"server"}`)
	st, err := b.Deploy.Get(ctx, p.ID)
	if err != nil || len(st.Releases) != 2 {
		t.Fatalf("releases: %+v %v", st.Releases, err)
	}
	first := st.Releases[1].ID

	b.Kill()
	a.Clock.Advance(a.Cluster.TTL() + time.Second)
	if err := a.Cluster.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	c := on(a, admin)
	if err := c.Do(ctx, "PATCH", "/api/projects/"+p.ID+"/deployment", strings.NewReader(`{"instances":2}`), "application/json", nil); err != nil {
		t.Fatalf("PATCH through A after B died: %v", err)
	}
	if got := deployOwner(t, a, p.ID); got != "a" {
		t.Fatalf("after the PATCH through A the deployment is owned by %q, want a", got)
	}
	if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/deployment/releases/"+first+"/activate", strings.NewReader(`{}`), "application/json", nil); err != nil {
		t.Fatalf("rollback through A after B died: %v", err)
	}
	a.Clock.Advance(time.Second)
	appURL := publishOn(t, a, admin, p.ID, `{"kind":"server"}`)
	if code, body := appGet(t, a, appURL); code != 200 || body != "ok" {
		t.Fatalf("app through A after B died: %d %q", code, body)
	}
	if got := instancesOn(t, a, p.ID); got != 2 {
		t.Fatalf("%d instances on A, want the 2 set through it", got)
	}
}
