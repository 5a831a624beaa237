package checkpoint

import (
	"context"
	"io"
	"sync/atomic"
)

// sizedPutter is implemented by object stores that tell how many bytes a
// Put added (DirStore).
type sizedPutter interface {
	putSized(ctx context.Context, r io.Reader) (Hash, int64, error)
}

// countingStore is an ObjectStore that adds up the bytes its Puts added to
// the store beneath: what one checkpoint costs (Metrics.StoredBytes).
type countingStore struct {
	ObjectStore
	added *atomic.Int64
}

func (c countingStore) Put(ctx context.Context, r io.Reader) (Hash, error) {
	sp, ok := c.ObjectStore.(sizedPutter)
	if !ok {
		return c.ObjectStore.Put(ctx, r)
	}
	h, n, err := sp.putSized(ctx, r)
	c.added.Add(n)
	return h, err
}

// countingEpochStore is a countingStore over a store with epochs.
type countingEpochStore struct {
	countingStore
	epocher
}

// counting wraps objects to count what is added through it.
func counting(objects ObjectStore, added *atomic.Int64) ObjectStore {
	c := countingStore{ObjectStore: objects, added: added}
	if ep, ok := objects.(epocher); ok {
		return countingEpochStore{countingStore: c, epocher: ep}
	}
	return c
}
