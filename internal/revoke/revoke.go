// Package revoke carries invalidations — a session or token revoked, an
// account, membership or project changed — to every node at once, so the
// in-memory caches of who a caller is and what they may do (Cache) never
// outlive a revocation. On one node the bus is in-process; with Redis
// (NewRedis) an event is applied on every subscribed node before Publish
// returns, each node acknowledging it. While a node's subscription is down
// it may miss events: its caches do not answer, and what must not wait for
// Redis to come back watches the bus's health (Watch) — the live requests
// are then re-checked against the store (live.Registry.Recheck).
package revoke

import (
	"context"
	"errors"
	"sync"
)

// Event says what changed. Which fields are set says what it is about:
//   - SessionID: a session ended;
//   - TokenID: a personal access token was revoked;
//   - UserID alone: an account changed (profile, admin, disabled, deleted);
//   - ProjectID and UserID: a membership changed or was removed;
//   - ProjectID alone: a project changed (renamed, transferred, deleted);
//   - nothing: everything may have changed (drop every cache).
//
// End asks each node to also end the long-lived requests that depended on
// it (package live).
type Event struct {
	SessionID string `json:"s,omitempty"`
	TokenID   string `json:"t,omitempty"`
	UserID    string `json:"u,omitempty"`
	ProjectID string `json:"p,omitempty"`
	End       bool   `json:"e,omitempty"`
}

// Matches reports whether a cached value tagged with tag is affected by e.
func (e Event) Matches(tag Event) bool {
	switch {
	case e.SessionID != "":
		return tag.SessionID == e.SessionID
	case e.TokenID != "":
		return tag.TokenID == e.TokenID
	case e.ProjectID != "" && e.UserID != "":
		return tag.ProjectID == e.ProjectID && tag.UserID == e.UserID
	case e.ProjectID != "":
		return tag.ProjectID == e.ProjectID
	case e.UserID != "":
		return tag.UserID == e.UserID
	}
	return true
}

// Bus delivers events to the handlers of every node. The zero value is not
// usable; use NewLocal or NewRedis.
type Bus struct {
	mu       sync.RWMutex
	handlers []func(Event)
	healthy  bool          // false while a Redis subscription is down: caches must not answer
	changed  chan struct{} // closed (and replaced) when healthy changes
	remote   *redisLink
}

// NewLocal returns a bus for a single node.
func NewLocal() *Bus { return &Bus{healthy: true, changed: make(chan struct{})} }

// Handle adds fn to what every event is given to, on this node (call
// before serving). Handlers must be quick and must not publish.
func (b *Bus) Handle(fn func(Event)) {
	b.mu.Lock()
	b.handlers = append(b.handlers, fn)
	b.mu.Unlock()
}

// Healthy reports whether this node receives every event (caches answer
// only then).
func (b *Bus) Healthy() bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.healthy
}

// Watch returns whether the bus is healthy now and a channel closed when
// that changes (what must not wait for events while they may be missed,
// such as live.Registry.Recheck, watches it).
func (b *Bus) Watch() (healthy bool, changed <-chan struct{}) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.healthy, b.changed
}

func (b *Bus) setHealthy(ok bool) {
	b.mu.Lock()
	if b.healthy != ok {
		b.healthy = ok
		close(b.changed)
		b.changed = make(chan struct{})
	}
	b.mu.Unlock()
	if !ok {
		b.apply(Event{}) // whatever was cached may miss what comes while down
	}
}

// apply gives e to this node's handlers.
func (b *Bus) apply(e Event) {
	b.mu.RLock()
	hs := b.handlers
	b.mu.RUnlock()
	for _, h := range hs {
		h(e)
	}
}

// ErrDeferred is what Publish's error wraps when Redis did not take the
// event: it was applied on this node and is published again once Redis
// is back; meanwhile the other nodes, their subscriptions down too, do not
// trust their caches and re-check their live requests against the store.
var ErrDeferred = errors.New("published again once redis is back")

// Publish applies e on this node, then on every other node, and returns
// when they have all applied it (or, for a node that does not answer in
// time, when it has been given up on; see NewRedis). Call it after the
// change is committed. An event Redis does not take is published again
// once it does (at most 1000 kept; past that, one empty event); the error
// then wraps ErrDeferred.
func (b *Bus) Publish(ctx context.Context, e Event) error {
	b.apply(e)
	if b.remote == nil {
		return nil
	}
	return b.remote.publish(ctx, e)
}

// Run relays events between nodes until ctx ends (nothing to do on one
// node).
func (b *Bus) Run(ctx context.Context) {
	if b.remote != nil {
		b.remote.run(ctx)
	}
}
