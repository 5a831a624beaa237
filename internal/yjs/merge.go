package yjs

// This file ports the per-client part of yjs mergeUpdates, which yjs uses
// to fold newly parked structs into its pending update. Following it
// exactly matters when parked updates disagree about a range (for example
// an Item in one and a GC struct for the same clocks in another): the
// choice decides how the structs integrate later.

type runReader struct {
	items []*Item
	i     int
}

func (r *runReader) curr() *Item {
	for r.i < len(r.items) && r.items[r.i].Kind == KindSkip {
		r.i++ // mergeUpdates reads with filterSkips
	}
	if r.i < len(r.items) {
		return r.items[r.i]
	}
	return nil
}

func (r *runReader) next() *Item {
	r.i++
	return r.curr()
}

// compareReaders is the comparator yjs sorts its readers with (for one
// client): by clock, and at equal clocks structs of different kinds are
// ordered inconsistently (a non-Skip first), which is why the sort below
// reproduces V8's binary insertion sort.
func compareReaders(a, b *runReader) int {
	x, y := a.curr(), b.curr()
	if x.ID.Clock == y.ID.Clock {
		if x.Kind == y.Kind {
			return 0
		}
		if x.Kind == KindSkip {
			return 1
		}
		return -1
	}
	if x.ID.Clock < y.ID.Clock {
		return -1
	}
	return 1
}

// sortReaders is V8's binary insertion sort (used for short arrays).
func sortReaders(rs []*runReader) {
	for i := 1; i < len(rs); i++ {
		pivot := rs[i]
		lo, hi := 0, i
		for lo < hi {
			mid := lo + (hi-lo)/2
			if compareReaders(pivot, rs[mid]) < 0 {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		copy(rs[lo+1:i+1], rs[lo:i])
		rs[lo] = pivot
	}
}

// mergeRuns merges runs of structs of one client (in update order) like
// yjs mergeUpdates does and returns the resulting struct sequence, which
// may contain Skip structs for gaps.
func mergeRuns(runs [][]*Item) []*Item {
	readers := make([]*runReader, 0, len(runs))
	for _, r := range runs {
		readers = append(readers, &runReader{items: r})
	}
	var out []*Item
	var w *Item // currWrite
	for {
		live := readers[:0]
		for _, r := range readers {
			if r.curr() != nil {
				live = append(live, r)
			}
		}
		readers = live
		if len(readers) == 0 {
			break
		}
		sortReaders(readers)
		dec := readers[0]
		if w != nil {
			curr := dec.curr()
			iterated := false
			for curr != nil && curr.endClock() <= w.endClock() {
				curr = dec.next()
				iterated = true
			}
			if curr == nil || (iterated && curr.ID.Clock > w.endClock()) {
				continue
			}
			if w.endClock() < curr.ID.Clock {
				if w.Kind == KindSkip {
					w.Length = int(curr.endClock() - w.ID.Clock)
				} else {
					out = append(out, w)
					w = &Item{ID: ID{w.ID.Client, w.endClock()}, Length: int(curr.ID.Clock - w.endClock()), Kind: KindSkip}
				}
			} else {
				if diff := int(w.endClock() - curr.ID.Clock); diff > 0 {
					if w.Kind == KindSkip {
						w.Length -= diff
					} else {
						curr = curr.sliceCopy(diff)
					}
				}
				if !lazyMerge(w, curr) {
					out = append(out, w)
					w = curr
					dec.next()
				}
			}
		} else {
			w = dec.curr()
			dec.next()
		}
		for n := dec.curr(); n != nil && n.ID.Clock == w.endClock(); n = dec.next() {
			out = append(out, w)
			w = n
		}
	}
	if w != nil {
		out = append(out, w)
	}
	return out
}

// lazyMerge is mergeWith for decoded (unlinked) structs: only GC and Skip
// structs merge. w is owned by the merge, so it may be modified.
func lazyMerge(w, r *Item) bool {
	if w.Kind == KindItem || w.Kind != r.Kind {
		return false
	}
	w.Length += r.Length
	return true
}
