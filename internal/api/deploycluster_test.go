package api_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"ecode/internal/client"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// appClient dials node n's listener whatever the host name asked for
// (<slug>.<apps domain>), with no session.
func appClient(t *testing.T, n *testutil.Server) *http.Client {
	addr := strings.TrimPrefix(n.URL, "http://")
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 90 * time.Second}
}

func appGet(t *testing.T, n *testutil.Server, appURL string) (int, string) {
	t.Helper()
	res, err := appClient(t, n).Get(appURL + "/")
	if err != nil {
		t.Fatalf("app through node %s: %v", n.Cluster.ID(), err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// publishOn publishes through node n and waits, on n's change
// notifications, until the release is live; it returns the app's URL.
func publishOn(t *testing.T, n *testutil.Server, c *client.Client, projectID, body string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out struct {
		Release struct{ ID string }
		URL     string
	}
	if err := on(n, c).Do(ctx, "POST", "/api/projects/"+projectID+"/deployment/publish", strings.NewReader(body), "application/json", &out); err != nil {
		t.Fatal(err)
	}
	for {
		changed := n.Deploy.Changed()
		st, err := n.Deploy.Get(ctx, projectID)
		if err != nil {
			t.Fatal(err)
		}
		if st.ActiveReleaseID == out.Release.ID && st.Status == "live" {
			return out.URL
		}
		for _, r := range st.Releases {
			if r.ID == out.Release.ID && r.Status == "failed" {
				t.Fatalf("release failed: %s", r.Reason)
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("release %s never went live: %+v", out.Release.ID, st)
		}
	}
}

func deployOwner(t *testing.T, n *testutil.Server, projectID string) string {
	t.Helper()
	o, err := n.Cluster.DeploymentOwner(context.Background(), projectID, false)
	if err != nil {
		t.Fatal(err)
	}
	return o.NodeID
}

func instancesOn(t *testing.T, n *testutil.Server, projectID string) int {
	t.Helper()
	st, err := n.Deploy.Get(context.Background(), projectID)
	if err != nil {
		t.Fatal(err)
	}
	return st.Instances
}

// A published app runs on one node (the one it was published through) and
// answers through each of the three; when that node dies, the next request
// starts it on another; a node that drains hands its apps over.
func TestClusterDeploymentOwnedByOneNode(t *testing.T) {
	a, b, c := threeNodes(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	admin := a.User(t, "admin")
	p, err := admin.CreateProject(ctx, "published", "python")
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.WriteFile(ctx, p.ID, "main.py", []byte(clusterApp)); err != nil {
		t.Fatal(err)
	}
	appURL := publishOn(t, b, admin, p.ID, `{"kind":"server"}`)
	if got := deployOwner(t, a, p.ID); got != "b" {
		t.Fatalf("deployment owned by %q, want b (published through it)", got)
	}
	for _, n := range []*testutil.Server{a, b, c} {
		if code, body := appGet(t, n, appURL); code != 200 || body != "ok" {
			t.Fatalf("app through node %s: %d %q", n.Cluster.ID(), code, body)
		}
	}
	if ia, ib, ic := instancesOn(t, a, p.ID), instancesOn(t, b, p.ID), instancesOn(t, c, p.ID); ia != 0 || ib != 1 || ic != 0 {
		t.Fatalf("instances a %d b %d c %d: want only b's", ia, ib, ic)
	}
	for _, n := range []*testutil.Server{a, b, c} { // every node shows the running node's status
		var st struct {
			Status    string
			Instances int
		}
		if err := on(n, admin).Do(ctx, "GET", "/api/projects/"+p.ID+"/deployment", nil, "", &st); err != nil {
			t.Fatal(err)
		}
		if st.Status != "live" || st.Instances != 1 {
			t.Fatalf("deployment through node %s: %+v, want live with 1 instance", n.Cluster.ID(), st)
		}
	}

	// B dies; once its lease ran out, a request through A starts the app on
	// A or C (whichever takes it first: C's placement tick may), once.
	b.Kill()
	for _, n := range []*testutil.Server{a, c} {
		n.Clock.Advance(a.Cluster.TTL() + time.Second)
		if err := n.Cluster.Heartbeat(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if code, body := appGet(t, a, appURL); code != 200 || body != "ok" {
		t.Fatalf("app through A after B died: %d %q", code, body)
	}
	owner := deployOwner(t, c, p.ID)
	if owner != "a" && owner != "c" {
		t.Fatalf("after B died the deployment is owned by %q", owner)
	}
	if ia, ic := instancesOn(t, a, p.ID), instancesOn(t, c, p.ID); ia+ic != 1 {
		t.Fatalf("instances a %d c %d: want one", ia, ic)
	}

	// The owner drains: at its next heartbeat it gives the app up (its
	// instance finishes what it serves); a request through it then goes to
	// the other node, where the app starts (the request waits for it).
	from, to := a, c
	if owner == "c" {
		from, to = c, a
	}
	if err := admin.Do(ctx, "POST", "/api/admin/nodes/"+from.Cluster.ID()+"/drain", nil, "", nil); err != nil {
		t.Fatal(err)
	}
	if err := from.Cluster.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	if code, body := appGet(t, from, appURL); code != 200 || body != "ok" {
		t.Fatalf("app through the draining node: %d %q", code, body)
	}
	if got := deployOwner(t, to, p.ID); got != to.Cluster.ID() {
		t.Fatalf("after draining %s the deployment is owned by %q", from.Cluster.ID(), got)
	}
	if n := instancesOn(t, to, p.ID); n != 1 {
		t.Fatalf("%d instances on %s", n, to.Cluster.ID())
	}
	if n := waitInstances(t, from, p.ID); n != 0 {
		t.Fatalf("drained node still runs %d instances", n)
	}
}

// waitInstances waits, on n's change notifications, until n runs no
// instance of the project (the drain finishes in the background), and
// returns how many it runs at the end.
func waitInstances(t *testing.T, n *testutil.Server, projectID string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		changed := n.Deploy.Changed()
		if i := instancesOn(t, n, projectID); i == 0 {
			return 0
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return instancesOn(t, n, projectID)
		}
	}
}

// A scheduled deployment's due time runs once across the cluster: a node
// that does not hold it runs nothing; two nodes' schedulers tick at the
// same (fake) time, only the owner's runs it; and the store refuses a second row for the same due time whoever
// writes it.
func TestClusterScheduledRunsOnce(t *testing.T) {
	a, b, _ := threeNodes(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	admin := a.User(t, "admin")
	p, err := admin.CreateProject(ctx, "cron", "python")
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.WriteFile(ctx, p.ID, "main.py", []byte(`print("tick")`)); err != nil {
		t.Fatal(err)
	}
	publishOn(t, a, admin, p.ID, `{"kind":"scheduled","schedule":"* * * * *"}`)
	for _, n := range []*testutil.Server{a, b} { // the next minute; the owner's lease renewed then
		n.Clock.Advance(61 * time.Second)
		if err := n.Cluster.Heartbeat(ctx); err != nil {
			t.Fatal(err)
		}
	}
	owner := deployOwner(t, b, p.ID)
	for _, n := range []*testutil.Server{a, b} { // alone, a node that does not hold it runs nothing
		if n.Cluster.ID() == owner {
			continue
		}
		if err := n.Deploy.RunSchedules(ctx); err != nil {
			t.Fatal(err)
		}
		if runs, err := a.Store.ListDeploymentRuns(ctx, p.ID, 10); err != nil || len(runs) != 0 {
			t.Fatalf("node %s, which does not hold the deployment, started runs %+v (%v)", n.Cluster.ID(), runs, err)
		}
	}
	var wg sync.WaitGroup
	for _, n := range []*testutil.Server{a, b} {
		wg.Go(func() {
			if err := n.Deploy.RunSchedules(ctx); err != nil {
				t.Errorf("node %s scheduler: %v", n.Cluster.ID(), err)
			}
		})
	}
	wg.Wait()
	runs, err := a.Store.ListDeploymentRuns(ctx, p.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].NodeID != deployOwner(t, b, p.ID) {
		t.Fatalf("runs %+v: want one, on the owner %s", runs, deployOwner(t, b, p.ID))
	}
	dup := runs[0]
	dup.ID, dup.NodeID = "duplicate", "b"
	if err := b.Store.CreateDeploymentRun(ctx, dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a second row for one due time: %v, want ErrConflict", err)
	}
}

// When the owner's credits run out on a node that does not run the app,
// the app stops on the node that does (a signed call to it): its release
// is recorded as suspended and it answers the paused page through every
// node.
func TestClusterQuotaSuspensionStopsTheAppWhereItRuns(t *testing.T) {
	n := clusterNodes(t, "", "a", "b")
	a, b := n[0], n[1]
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	admin := a.User(t, "admin")
	p, err := admin.CreateProject(ctx, "paid", "python")
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.WriteFile(ctx, p.ID, "main.py", []byte(clusterApp)); err != nil {
		t.Fatal(err)
	}
	appURL := publishOn(t, b, admin, p.ID, `{"kind":"server"}`)
	if got := deployOwner(t, a, p.ID); got != "b" || instancesOn(t, b, p.ID) != 1 {
		t.Fatalf("deployment owned by %q with %d instances on b", got, instancesOn(t, b, p.ID))
	}

	// Usage recorded on A leaves nothing: A's billing suspends the deployment.
	if _, err := a.Billing.Recorder().RecordUsage(ctx, store.UsageEvent{ID: "big", IdempotencyKey: "cluster-suspend-big", ProjectID: p.ID,
		Kind: "sandbox_cpu_seconds", Quantity: 3600 * 1000, CreatedAt: a.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	for { // B stops its instance and records the suspension (its change notifications)
		changed := b.Deploy.Changed()
		st, err := b.Deploy.Get(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Status == "suspended" && st.Instances == 0 {
			break
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("deployment on B after the credits ran out: %+v", st)
		}
	}
	for _, n := range []*testutil.Server{a, b} {
		if code, body := appGet(t, n, appURL); code != 503 || !strings.Contains(body, "paused") {
			t.Fatalf("app through node %s: %d %q", n.Cluster.ID(), code, body)
		}
	}
}
