package telemetry

import (
	"sync"
	"sync/atomic"
)

// maxChildren bounds a children cache: label values can come from clients
// (an unmatched route's method), so past this many the vector is asked
// each time instead (what it costs without the cache).
const maxChildren = 4096

// children caches a metric vector's children by their label values, so a
// request finds its counter with one lock-free lookup instead of hashing
// and validating the values under the vector's lock. Nothing deletes
// children from the vectors, so a cached child stays the exported one.
type children[K comparable, V any] struct {
	m sync.Map // K → V
	n atomic.Int64
}

// load returns the child cached for k.
func (c *children[K, V]) load(k K) (V, bool) {
	v, ok := c.m.Load(k)
	if !ok {
		var zero V
		return zero, false
	}
	return v.(V), true
}

// store caches v for k (unless the cache is full) and returns the child
// to use: v, or the one another request stored first.
func (c *children[K, V]) store(k K, v V) V {
	if c.n.Load() >= maxChildren {
		return v
	}
	if prev, loaded := c.m.LoadOrStore(k, v); loaded {
		return prev.(V)
	}
	c.n.Add(1)
	return v
}
