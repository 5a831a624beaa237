package yjs

import "slices"

// findIndex returns the index of the struct containing clock, or -1.
func findIndex(structs []*Item, clock uint64) int {
	lo, hi := 0, len(structs)-1
	if hi < 0 {
		return -1
	}
	last := structs[hi]
	if last.ID.Clock == clock {
		return hi
	}
	if clock >= last.endClock() {
		return -1
	}
	// pivot the first probe like yjs: most lookups are near the end
	mid := int(float64(clock) / float64(last.endClock()-1) * float64(hi))
	for lo <= hi {
		if mid < lo || mid > hi {
			mid = (lo + hi) / 2
		}
		s := structs[mid]
		if s.ID.Clock <= clock {
			if clock < s.endClock() {
				return mid
			}
			lo = mid + 1
		} else {
			hi = mid - 1
		}
		mid = (lo + hi) / 2
	}
	return -1
}

func (d *Doc) state(client uint64) uint64 {
	s := d.clients[client]
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1].endClock()
}

// getItem finds the struct containing id (no splitting); nil if unknown.
func (d *Doc) getItem(id ID) *Item {
	s := d.clients[id.Client]
	if i := findIndex(s, id.Clock); i >= 0 {
		return s[i]
	}
	return nil
}

func (d *Doc) addStruct(it *Item) {
	d.clients[it.ID.Client] = append(d.clients[it.ID.Client], it)
}

// replaceStruct swaps old for n at the same position in the store.
func (d *Doc) replaceStruct(old, n *Item) {
	s := d.clients[old.ID.Client]
	if i := findIndex(s, old.ID.Clock); i >= 0 {
		s[i] = n
	}
}

// splitItem splits it so that the left part keeps diff units; the right
// part is inserted into the store after it and returned.
func (tx *txn) splitItem(it *Item, diff int) *Item {
	r := &Item{
		ID:             ID{it.ID.Client, it.ID.Clock + uint64(diff)},
		Length:         it.Length - diff,
		Kind:           KindItem,
		Origin:         ID{it.ID.Client, it.ID.Clock + uint64(diff) - 1},
		HasOrigin:      true,
		RightOrigin:    it.RightOrigin,
		HasRightOrigin: it.HasRightOrigin,
		ParentSub:      it.ParentSub,
		HasParentSub:   it.HasParentSub,
		parent:         it.parent,
		left:           it,
		right:          it.right,
		deleted:        it.deleted,
		keep:           it.keep,
	}
	r.Content = it.Content.splice(diff)
	it.right = r
	if r.right != nil {
		r.right.left = r
	}
	tx.merge = append(tx.merge, r)
	if r.HasParentSub && r.right == nil && r.parent != nil {
		r.parent.keys[r.ParentSub] = r
	}
	it.Length = diff
	return r
}

// cleanStart returns the index of a struct starting exactly at clock,
// splitting an item if needed.
func (tx *txn) cleanStart(client, clock uint64) int {
	s := tx.doc.clients[client]
	i := findIndex(s, clock)
	if it := s[i]; it.ID.Clock < clock && it.Kind == KindItem {
		r := tx.splitItem(it, int(clock-it.ID.Clock))
		tx.doc.clients[client] = slices.Insert(s, i+1, r)
		return i + 1
	}
	return i
}

func (tx *txn) getItemCleanStart(id ID) *Item {
	i := tx.cleanStart(id.Client, id.Clock)
	return tx.doc.clients[id.Client][i]
}

// getItemCleanEnd returns the struct containing id, split so that id is
// its last unit (GC structs are not split).
func (tx *txn) getItemCleanEnd(id ID) *Item {
	s := tx.doc.clients[id.Client]
	i := findIndex(s, id.Clock)
	it := s[i]
	if id.Clock != it.endClock()-1 && it.Kind == KindItem {
		r := tx.splitItem(it, int(id.Clock-it.ID.Clock+1))
		tx.doc.clients[id.Client] = slices.Insert(s, i+1, r)
	}
	return it
}

// mergeWith merges right into left if yjs would (same kind, adjacent,
// right continues left without anything in between).
func (tx *txn) mergeWith(left, right *Item) bool {
	if left.Kind != right.Kind || left.ID.Client != right.ID.Client || left.endClock() != right.ID.Clock {
		return false
	}
	if left.Kind == KindGC {
		left.Length += right.Length
		return true
	}
	if left.Kind != KindItem || left.deleted != right.deleted || !right.HasOrigin ||
		right.Origin != left.lastID() || left.right != right ||
		left.HasRightOrigin != right.HasRightOrigin ||
		(left.HasRightOrigin && left.RightOrigin != right.RightOrigin) ||
		left.Content.Ref() != right.Content.Ref() || !splittable(left.Content) {
		return false
	}
	if p := left.parent; p != nil && p.cacheItem == right {
		p.cacheItem = left
		p.cacheIndex -= left.visibleLen()
	}
	left.Content.mergeWith(right.Content)
	if right.keep {
		left.keep = true
	}
	left.right = right.right
	if left.right != nil {
		left.right.left = left
	}
	left.Length += right.Length
	return true
}

// tryMergeWithLefts merges structs[pos] into its left neighbours as far
// as possible and returns how many were merged.
func (tx *txn) tryMergeWithLefts(client uint64, pos int) int {
	s := tx.doc.clients[client]
	right := s[pos]
	i := pos
	for ; i > 0; i-- {
		left := s[i-1]
		if left.Deleted() != right.Deleted() || !tx.mergeWith(left, right) {
			break
		}
		if right.Kind == KindItem && right.HasParentSub && right.parent != nil && right.parent.keys[right.ParentSub] == right {
			right.parent.keys[right.ParentSub] = left
		}
		right = left
	}
	merged := pos - i
	if merged > 0 {
		tx.doc.clients[client] = slices.Delete(s, pos+1-merged, pos+1)
	}
	return merged
}
