package cluster_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"ecode/internal/cluster"
	"ecode/internal/store"
	"ecode/internal/testutil/testdb"
)

// clock is a fake clock shared by the test's nodes.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type node struct {
	*cluster.Cluster
	mu   sync.Mutex
	lost []string
}

func (n *node) Lost() []string { n.mu.Lock(); defer n.mu.Unlock(); return slices.Clone(n.lost) }

func newNode(t *testing.T, st *store.Store, clk *clock, id string) *node {
	t.Helper()
	n := &node{}
	n.Cluster = cluster.New(st, cluster.Options{NodeID: id, Address: "http://" + id, Secret: []byte("s3cret"),
		TTL: 15 * time.Second, Now: clk.Now, Lost: func(p string) { n.mu.Lock(); n.lost = append(n.lost, p); n.mu.Unlock() }})
	if err := n.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	return n
}

func project(t *testing.T, st *store.Store, id string) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Unix(1e9, 0)
	if _, err := st.UserByID(ctx, "u"); err != nil {
		if _, err := st.CreateUser(ctx, store.User{ID: "u", Email: "u@x.test", Name: "u", PasswordHash: "h", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.CreateProject(ctx, store.Project{ID: id, Name: id, OwnerID: "u", CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
}

func owner(t *testing.T, n *node, projectID string) cluster.Owner {
	t.Helper()
	o, err := n.Owner(context.Background(), projectID)
	if err != nil {
		t.Fatalf("%s: owner of %s: %v", n.ID(), projectID, err)
	}
	return o
}

// The first node to ask owns a project; the others are told who does; the
// owner's heartbeat keeps it; once the owner stops heartbeating, the lease
// expires and the next node to ask takes it, and a node that drains gives
// its projects to another.
func TestOwnershipLeases(t *testing.T) {
	testdb.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		a, b, c := newNode(t, st, clk, "a"), newNode(t, st, clk, "b"), newNode(t, st, clk, "c")
		project(t, st, "p1")
		project(t, st, "p2")

		if o := owner(t, b, "p1"); !o.Self || o.NodeID != "b" {
			t.Fatalf("b's first request: owner %+v, want b itself", o)
		}
		if o := owner(t, a, "p1"); o.Self || o.NodeID != "b" || o.Address != "http://b" {
			t.Fatalf("a asks for p1: %+v, want b at http://b", o)
		}
		// b heartbeats, a and c do too; time passes beyond one TTL in steps.
		for range 3 {
			clk.Advance(10 * time.Second)
			for _, n := range []*node{a, b, c} {
				if err := n.Heartbeat(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		if o := owner(t, c, "p1"); o.NodeID != "b" {
			t.Fatalf("after renewals p1 is owned by %s, want b", o.NodeID)
		}
		// b dies (no more heartbeats): within the TTL it still owns p1,
		// after it a takes the project over.
		clk.Advance(10 * time.Second)
		if o := owner(t, a, "p1"); o.NodeID != "b" {
			t.Fatalf("b's lease taken before it expired: %+v", o)
		}
		clk.Advance(6 * time.Second)
		if o := owner(t, a, "p1"); !o.Self || o.NodeID != "a" {
			t.Fatalf("after b's lease expired: %+v, want a", o)
		}
		if o := owner(t, c, "p1"); o.NodeID != "a" {
			t.Fatalf("c sees p1 at %s, want a", o.NodeID)
		}
		// b comes back: its heartbeat tells it p1 is gone.
		if err := b.Heartbeat(ctx); err != nil {
			t.Fatal(err)
		}
		if got := b.Lost(); !slices.Equal(got, []string{"p1"}) {
			t.Fatalf("b lost %v, want [p1]", got)
		}

		// c drains: the next request for its project, on any node, moves it.
		if o := owner(t, c, "p2"); o.NodeID != "c" {
			t.Fatalf("p2 at %s, want c", o.NodeID)
		}
		if err := cluster.Drain(ctx, st, "c"); err != nil {
			t.Fatal(err)
		}
		if err := cluster.Drain(ctx, st, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("draining an unknown node: %v", err)
		}
		if o := owner(t, a, "p2"); o.NodeID != "a" {
			t.Fatalf("after c drains, p2 at %s, want a", o.NodeID)
		}
		if err := c.Heartbeat(ctx); err != nil {
			t.Fatal(err)
		}
		if got := c.Lost(); !slices.Equal(got, []string{"p2"}) {
			t.Fatalf("c lost %v, want [p2]", got)
		}
		// A draining node asked about a free project gives it to another.
		if err := a.Release(ctx, "p2"); err != nil {
			t.Fatal(err)
		}
		if o := owner(t, c, "p2"); o.Self || o.NodeID == "c" {
			t.Fatalf("draining c took p2: %+v", o)
		}
		nodes, err := cluster.Nodes(ctx, st, clk.Now())
		if err != nil || len(nodes) != 3 {
			t.Fatalf("nodes %+v, %v", nodes, err)
		}
		if nodes[2].ID != "c" || nodes[2].State != store.NodeDraining || !nodes[2].Alive {
			t.Errorf("c listed as %+v", nodes[2])
		}
		// Leaving (shutdown) frees the leases at once.
		if err := a.Leave(ctx); err != nil {
			t.Fatal(err)
		}
		if o := owner(t, b, "p1"); !o.Self {
			t.Fatalf("after a left, b asks for p1: %+v, want b", o)
		}
	})
}

// Two nodes taking one expired lease at once: exactly one wins, and both
// agree on the winner.
func TestTakeoverRace(t *testing.T) {
	testdb.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		dead := newNode(t, st, clk, "dead")
		project(t, st, "p")
		owner(t, dead, "p")
		clk.Advance(time.Minute)
		var nodes []*node
		for _, id := range []string{"n1", "n2", "n3", "n4"} {
			nodes = append(nodes, newNode(t, st, clk, id))
		}
		got := make([]cluster.Owner, len(nodes))
		var wg sync.WaitGroup
		for i, n := range nodes {
			wg.Go(func() { got[i] = owner(t, n, "p") })
		}
		wg.Wait()
		self := 0
		for _, o := range got {
			if o.Self {
				self++
			}
			if o.NodeID != got[0].NodeID {
				t.Fatalf("nodes disagree on the owner: %+v", got)
			}
		}
		if self != 1 {
			t.Fatalf("%d nodes think they own p: %+v", self, got)
		}
	})
}

// Only requests signed with the cluster secret, recently, for this very
// request, verify.
func TestSignVerify(t *testing.T) {
	st := testdb.NewStore(t, store.SQLite)
	clk := &clock{now: time.Now()}
	a := newNode(t, st, clk, "a")
	other := cluster.New(st, cluster.Options{NodeID: "x", Secret: []byte("other")})
	r := httptest.NewRequest("POST", "http://ide.test/api/projects/p/exec?x=1", nil)
	r.Header.Set(cluster.ClientHeader, "10.0.0.1")
	a.Sign(r)
	if id, err := a.Verify(r); err != nil || id != "a" {
		t.Fatalf("verify own signature: %q, %v", id, err)
	}
	if _, err := other.Verify(r); err == nil {
		t.Error("a signature under another secret verified")
	}
	for name, change := range map[string]func(*http.Request){
		"path":    func(r *http.Request) { r.URL.Path = "/api/projects/q/exec" },
		"method":  func(r *http.Request) { r.Method = "GET" },
		"client":  func(r *http.Request) { r.Header.Set(cluster.ClientHeader, "10.0.0.2") },
		"missing": func(r *http.Request) { r.Header.Del(cluster.Header) },
		"node":    func(r *http.Request) { r.Header.Set(cluster.Header, "b"+r.Header.Get(cluster.Header)[1:]) },
	} {
		r2 := r.Clone(context.Background())
		change(r2)
		if _, err := a.Verify(r2); err == nil {
			t.Errorf("changed %s: still verifies", name)
		}
	}
}
