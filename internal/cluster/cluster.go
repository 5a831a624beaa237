// Package cluster makes several `ecode serve` processes one service. Each
// node registers in the store and renews a lease with its heartbeat; each
// active project's sandbox is owned by exactly one node at a time, recorded
// as a project lease that its owner renews with the same heartbeat and that
// another node takes over once it has expired (the owner died) or its owner
// drains. Each live deployment is owned the same way, by a deployment
// lease of its own (an app runs on while its project's sandbox sleeps). Requests between nodes carry an HMAC of the cluster secret
// (Sign, Verify). The package imports only the store.
package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"ecode/internal/store"
)

// Options configure a node.
type Options struct {
	NodeID  string // unique among the nodes sharing the store
	Address string // the internal listener's URL, e.g. http://10.0.0.5:7071
	Secret  []byte // the cluster secret every node shares
	// TTL is how long a heartbeat keeps the node and its leases (default
	// 15 s); heartbeats should come three times as often.
	TTL time.Duration
	Now func() time.Time
	Log *slog.Logger
	// Lost is told of each project this node owned and owns no more (taken
	// over after an expiry, or given up while draining): the caller stops
	// its sandbox here and ends its live requests.
	Lost func(projectID string)
	// LostDeployment is Lost for a deployment lease: the caller stops the
	// deployment's instances and runs here.
	LostDeployment func(projectID string)
	// DialTimeout bounds connecting to another node's internal listener
	// (default 3 s): a node whose host is gone drops the connection
	// attempt rather than refusing it.
	DialTimeout time.Duration
	// CallTimeout bounds a whole Tell (default 10 s).
	CallTimeout time.Duration
	// WatchEvery is how often a call to another node, waiting for its
	// answer or streaming it, reads that node's heartbeat again (default
	// TTL/6), see calls.go.
	WatchEvery time.Duration
}

// Cluster is this node's membership of the service.
type Cluster struct {
	st *store.Store
	o  Options

	mu       sync.Mutex
	projects leases // project sandboxes this node owns
	deploys  leases // deployments this node runs
	draining bool

	peers     peers             // the other nodes, as last read (calls.go)
	transport http.RoundTripper // to other nodes' internal listeners
	client    *http.Client
}

// leases is one kind of lease (a project's sandbox, a project's
// deployment): how the store keeps it, which ones this node holds as last
// known (under Cluster.mu), and who is told of one lost.
type leases struct {
	get  func(ctx context.Context, projectID string) (store.Lease, error)
	take func(ctx context.Context, projectID, node string, prev *store.Lease, now, until time.Time) (bool, error)
	held map[string]bool
	lost func(projectID string)
}

// ErrNoNode is returned when a draining node finds no other node that can
// take a project.
var ErrNoNode = errors.New("no active node can take the project")

// New makes this node's cluster membership; Register records it.
func New(st *store.Store, o Options) *Cluster {
	if o.TTL <= 0 {
		o.TTL = 15 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Lost == nil {
		o.Lost = func(string) {}
	}
	if o.LostDeployment == nil {
		o.LostDeployment = func(string) {}
	}
	o.DialTimeout = cmp.Or(o.DialTimeout, 3*time.Second)
	o.CallTimeout = cmp.Or(o.CallTimeout, 10*time.Second)
	o.WatchEvery = cmp.Or(o.WatchEvery, o.TTL/6)
	c := &Cluster{st: st, o: o,
		projects: leases{get: st.ProjectLease, take: st.TakeProjectLease, held: map[string]bool{}, lost: o.Lost},
		deploys:  leases{get: st.DeploymentLease, take: st.TakeDeploymentLease, held: map[string]bool{}, lost: o.LostDeployment}}
	c.transport = c.newTransport()
	c.client = &http.Client{Transport: c.transport}
	return c
}

// ID is this node's id.
func (c *Cluster) ID() string { return c.o.NodeID }

// TTL is how long a heartbeat keeps the node and its leases.
func (c *Cluster) TTL() time.Duration { return c.o.TTL }

// Register records this node as active and alive for one TTL.
func (c *Cluster) Register(ctx context.Context) error {
	now := c.o.Now()
	return c.st.RegisterNode(ctx, store.Node{ID: c.o.NodeID, Address: c.o.Address,
		StartedAt: now, HeartbeatAt: now, ExpiresAt: now.Add(c.o.TTL)})
}

// Heartbeat renews this node and its leases. A node that drains gives
// every lease up; leases another node took meanwhile are lost. Lost is told
// of each.
func (c *Cluster) Heartbeat(ctx context.Context) error {
	now := c.o.Now()
	state, held, deps, err := c.st.NodeHeartbeat(ctx, c.o.NodeID, now, now.Add(c.o.TTL))
	if errors.Is(err, store.ErrNotFound) { // the row was removed: register again
		if err = c.Register(ctx); err == nil {
			state, held, deps, err = c.st.NodeHeartbeat(ctx, c.o.NodeID, now, now.Add(c.o.TTL))
		}
	}
	if err != nil {
		return err
	}
	if err := c.st.SweepRateLimits(ctx, now); err != nil {
		c.o.Log.Warn("sweep expired rate limits", "err", err)
	}
	if state == store.NodeDraining {
		if held, deps, err = c.st.ReleaseNodeLeases(ctx, c.o.NodeID); err != nil {
			return err
		}
		c.mu.Lock()
		c.draining = true
		c.mu.Unlock()
		c.lose(&c.projects, held...)
		c.lose(&c.deploys, deps...)
		c.loseAllBut(&c.projects, nil)
		c.loseAllBut(&c.deploys, nil)
		return nil
	}
	c.mu.Lock()
	c.draining = false
	c.mu.Unlock()
	c.loseAllBut(&c.projects, held)
	c.loseAllBut(&c.deploys, deps)
	return nil
}

// loseAllBut tells l.lost of every lease held that is not in keep, and
// makes keep the leases held.
func (c *Cluster) loseAllBut(l *leases, keep []string) {
	now := map[string]bool{}
	for _, id := range keep {
		now[id] = true
	}
	c.mu.Lock()
	var lost []string
	for id := range l.held {
		if !now[id] {
			lost = append(lost, id)
		}
	}
	l.held = now
	c.mu.Unlock()
	for _, id := range lost {
		c.o.Log.Info("lease moved to another node", "project_id", id, "deployment", l == &c.deploys)
		l.lost(id)
	}
}

// lose forgets leases and tells l.lost of each that was held.
func (c *Cluster) lose(l *leases, ids ...string) {
	for _, id := range ids {
		c.mu.Lock()
		was := l.held[id]
		delete(l.held, id)
		c.mu.Unlock()
		if was {
			l.lost(id)
		}
	}
}

// Run heartbeats on every tick until ctx ends, then leaves the cluster.
func (c *Cluster) Run(ctx context.Context, tick <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			leaveCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := c.Leave(leaveCtx); err != nil {
				c.o.Log.Warn("leave the cluster", "err", err)
			}
			return
		case <-tick:
			if err := c.Heartbeat(ctx); err != nil && ctx.Err() == nil {
				c.o.Log.Warn("cluster heartbeat", "err", err)
			}
		}
	}
}

// Leave gives every lease up and marks the node stopped (shutdown), so the
// next request for one of its projects starts it elsewhere at once.
func (c *Cluster) Leave(ctx context.Context) error {
	if _, _, err := c.st.ReleaseNodeLeases(ctx, c.o.NodeID); err != nil {
		return err
	}
	c.mu.Lock()
	c.projects.held, c.deploys.held = map[string]bool{}, map[string]bool{}
	c.mu.Unlock()
	return c.st.SetNodeState(ctx, c.o.NodeID, store.NodeStopped)
}

// Owner is the node that owns a project's sandbox.
type Owner struct {
	NodeID  string
	Address string
	Self    bool // this node
}

// Owner returns the project's owner, taking the project's lease first when
// nobody holds it, when it expired (its owner died) or when its owner
// drains: for this node, or, when this node drains, for the active node
// with the fewest projects. A project this node held and no longer does
// is told to Lost by the next heartbeat, not here: the request asking may
// itself be one of the project's live requests.
func (c *Cluster) Owner(ctx context.Context, projectID string) (Owner, error) {
	return c.owner(ctx, &c.projects, projectID, true)
}

// DeploymentOwner returns the node that runs the project's deployment, as
// Owner does for its sandbox. Unless take, a deployment no alive node
// holds is left so: the zero Owner.
func (c *Cluster) DeploymentOwner(ctx context.Context, projectID string, take bool) (Owner, error) {
	return c.owner(ctx, &c.deploys, projectID, take)
}

func (c *Cluster) owner(ctx context.Context, ls *leases, projectID string, take bool) (Owner, error) {
	for range 4 {
		now := c.o.Now()
		l, err := ls.get(ctx, projectID)
		var prev *store.Lease
		switch {
		case err == nil:
			if l.ExpiresAt.After(now) && l.Node.State == store.NodeActive {
				if l.NodeID != c.o.NodeID { // (if this node held it, its next heartbeat tells Lost)
					return Owner{NodeID: l.NodeID, Address: l.Node.Address}, nil
				}
				if !c.isDraining() {
					c.keep(ls, projectID)
					return Owner{NodeID: c.o.NodeID, Address: c.o.Address, Self: true}, nil
				}
			}
			prev = &l
		case errors.Is(err, store.ErrNotFound):
		default:
			return Owner{}, err
		}
		if !take {
			return Owner{}, nil
		}
		target := Owner{NodeID: c.o.NodeID, Address: c.o.Address, Self: true}
		draining, err := c.drainingNow(ctx)
		if err != nil {
			return Owner{}, err
		}
		if draining {
			n, err := c.pick(ctx, now)
			if err != nil {
				return Owner{}, err
			}
			target = Owner{NodeID: n.ID, Address: n.Address}
		}
		took, err := ls.take(ctx, projectID, target.NodeID, prev, now, now.Add(c.o.TTL))
		if err != nil {
			return Owner{}, err
		}
		if took {
			if prev != nil && prev.NodeID != target.NodeID {
				c.o.Log.Info("project lease taken over", "project_id", projectID, "from", prev.NodeID, "to", target.NodeID)
			}
			if target.Self {
				c.keep(ls, projectID)
			}
			return target, nil
		}
	}
	return Owner{}, fmt.Errorf("project %s: lease contended", projectID)
}

// pick chooses the alive active node, other than this one, with the
// fewest projects.
func (c *Cluster) pick(ctx context.Context, now time.Time) (store.Node, error) {
	nodes, err := c.st.Nodes(ctx)
	if err != nil {
		return store.Node{}, err
	}
	var best *store.Node
	for i, n := range nodes {
		if n.ID == c.o.NodeID || n.State != store.NodeActive || !n.ExpiresAt.After(now) {
			continue
		}
		if best == nil || n.Projects < best.Projects {
			best = &nodes[i]
		}
	}
	if best == nil {
		return store.Node{}, ErrNoNode
	}
	return *best, nil
}

// drainingNow reads this node's state from the store: a drain ordered on
// another node holds here before this node's next heartbeat.
func (c *Cluster) drainingNow(ctx context.Context) (bool, error) {
	state, err := c.st.NodeState(ctx, c.o.NodeID)
	if err != nil {
		return false, fmt.Errorf("this node's state: %w", err)
	}
	return state == store.NodeDraining, nil
}

func (c *Cluster) isDraining() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.draining
}

func (c *Cluster) keep(ls *leases, projectID string) {
	c.mu.Lock()
	ls.held[projectID] = true
	c.mu.Unlock()
}

// Release gives this node's lease of a project up (its sandbox stopped).
func (c *Cluster) Release(ctx context.Context, projectID string) error {
	c.mu.Lock()
	delete(c.projects.held, projectID)
	c.mu.Unlock()
	return c.st.ReleaseProjectLease(ctx, projectID, c.o.NodeID)
}

// HoldsDeployment reports whether this node held the project's deployment
// lease at its last heartbeat or take (no query).
func (c *Cluster) HoldsDeployment(projectID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deploys.held[projectID] && !c.draining
}

// ReleaseDeployment gives this node's lease of a project's deployment up
// (its instances stopped).
func (c *Cluster) ReleaseDeployment(ctx context.Context, projectID string) error {
	c.mu.Lock()
	delete(c.deploys.held, projectID)
	c.mu.Unlock()
	return c.st.ReleaseDeploymentLease(ctx, projectID, c.o.NodeID)
}

// DeploymentShare is this node's fair share of total live deployments:
// total over the alive active nodes, rounded up (0 while this node drains).
func (c *Cluster) DeploymentShare(ctx context.Context, total int) (int, error) {
	nodes, err := c.st.Nodes(ctx)
	if err != nil {
		return 0, err
	}
	now, alive, self := c.o.Now(), 0, false
	for _, n := range nodes {
		if n.State == store.NodeActive && n.ExpiresAt.After(now) {
			alive++
			self = self || n.ID == c.o.NodeID
		}
	}
	if !self {
		return 0, nil
	}
	return (total + alive - 1) / alive, nil
}

// DeploymentsToPlace returns the live deployments this node holds (held;
// none while it drains) and those no alive active node holds (free), in
// the order they were created, with this node's fair share of all live
// deployments (DeploymentShare; counted only when some are free). Two
// queries, whose rows are the deployments that need this node.
func (c *Cluster) DeploymentsToPlace(ctx context.Context) (held, free []store.Deployment, share int, err error) {
	now := c.o.Now()
	if held, err = c.st.HeldDeployments(ctx, c.o.NodeID, now); err != nil {
		return nil, nil, 0, err
	}
	if c.isDraining() {
		held = nil
	}
	for _, d := range held {
		c.keep(&c.deploys, d.ProjectID)
	}
	if free, err = c.st.UnheldDeployments(ctx, now); err != nil || len(free) == 0 {
		return held, nil, 0, err
	}
	total, err := c.st.CountLiveDeployments(ctx)
	if err != nil {
		return nil, nil, 0, err
	}
	if share, err = c.DeploymentShare(ctx, total); err != nil {
		return nil, nil, 0, err
	}
	return held, free, share, nil
}

// HeldDeployments returns the live deployments this node holds (none while
// it drains), in the order they were created: one query over its leases.
func (c *Cluster) HeldDeployments(ctx context.Context) ([]store.Deployment, error) {
	if c.isDraining() {
		return nil, nil
	}
	return c.st.HeldDeployments(ctx, c.o.NodeID, c.o.Now())
}

// NodeInfo is a node as listed: its row, and whether it is alive.
type NodeInfo struct {
	store.Node
	Alive bool
}

// Nodes lists the nodes sharing the store; a node is alive while its last
// heartbeat's lease runs.
func Nodes(ctx context.Context, st *store.Store, now time.Time) ([]NodeInfo, error) {
	nodes, err := st.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]NodeInfo, len(nodes))
	for i, n := range nodes {
		out[i] = NodeInfo{Node: n, Alive: n.State != store.NodeStopped && n.ExpiresAt.After(now)}
	}
	return out, nil
}

// Drain marks a node draining: other nodes take its projects at their next
// request, and the node gives them up at its next heartbeat. ErrNotFound
// when no node has that id.
func Drain(ctx context.Context, st *store.Store, id string) error {
	return st.SetNodeState(ctx, id, store.NodeDraining)
}

// Holder returns the node holding the project's unexpired lease, without
// taking it; ok is false when no node does (nothing of the project runs).
func (c *Cluster) Holder(ctx context.Context, projectID string) (o Owner, ok bool, err error) {
	l, err := c.st.ProjectLease(ctx, projectID)
	if errors.Is(err, store.ErrNotFound) {
		return Owner{}, false, nil
	}
	if err != nil || !l.ExpiresAt.After(c.o.Now()) {
		return Owner{}, false, err
	}
	return Owner{NodeID: l.NodeID, Address: l.Node.Address, Self: l.NodeID == c.o.NodeID}, true, nil
}
