package revoke

import (
	"sync"
	"time"
)

// Cache keeps values read from the store (a session with its user, a
// membership with its project) for at most ttl, each tagged with what it
// depends on; an event on the bus drops every value it matches, on every
// node. It answers only while the bus is healthy.
type Cache[V any] struct {
	bus  *Bus
	ttl  time.Duration
	max  int
	now  func() time.Time
	mu   sync.Mutex
	gen  uint64 // bumped by every drop: a fill read before it is refused
	vals map[string]cached[V]
}

type cached[V any] struct {
	v   V
	tag Event
	at  time.Time
}

// NewCache returns a cache of at most max values, each kept at most ttl,
// that drops what the events on bus match.
func NewCache[V any](bus *Bus, ttl time.Duration, max int) *Cache[V] {
	c := &Cache[V]{bus: bus, ttl: ttl, max: max, now: time.Now, vals: map[string]cached[V]{}}
	bus.Handle(c.drop)
	return c
}

// Get returns the value under key, if it is cached and fresh. gen is to be
// given to Put with the value read from the store after a miss.
func (c *Cache[V]) Get(key string) (v V, gen uint64, ok bool) {
	healthy := c.bus.Healthy()
	c.mu.Lock()
	defer c.mu.Unlock()
	x, found := c.vals[key]
	if !healthy || !found || c.now().Sub(x.at) >= c.ttl {
		return v, c.gen, false
	}
	return x.v, c.gen, true
}

// Put caches v under key, tagged with what it depends on, unless an event
// came since gen was handed out (v may then be stale).
func (c *Cache[V]) Put(key string, tag Event, v V, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.vals) >= c.max {
		clear(c.vals)
	}
	c.vals[key] = cached[V]{v: v, tag: tag, at: c.now()}
}

// Delete forgets key (on this node only: for values this node found stale).
func (c *Cache[V]) Delete(key string) {
	c.mu.Lock()
	delete(c.vals, key)
	c.gen++
	c.mu.Unlock()
}

// Len is the number of values cached.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.vals)
}

func (c *Cache[V]) drop(e Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, x := range c.vals {
		if e.Matches(x.tag) {
			delete(c.vals, k)
		}
	}
}
