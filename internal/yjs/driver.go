package yjs

import "slices"

// add merges another set of pending structs into p.
func (p *pendingStructs) add(o *pendingStructs) {
	for c, k := range o.missing {
		if m, ok := p.missing[c]; !ok || k < m {
			p.missing[c] = k
		}
	}
	for c, items := range o.clients {
		if old := p.clients[c]; len(old) > 0 {
			p.clients[c] = mergeRuns([][]*Item{old, items})
		} else {
			p.clients[c] = items
		}
	}
}

// mergePendingQueue merges two clock-sorted runs of one client, dropping
// structs that are fully covered by another one.
func mergePendingQueue(a, b []*Item) []*Item {
	all := append(slices.Clip(a), b...)
	slices.SortStableFunc(all, func(x, y *Item) int {
		if x.ID.Clock != y.ID.Clock {
			if x.ID.Clock < y.ID.Clock {
				return -1
			}
			return 1
		}
		return y.Length - x.Length // longer first
	})
	out := all[:0]
	var end uint64
	for _, it := range all {
		if len(out) > 0 && it.endClock() <= end {
			continue
		}
		out = append(out, it)
		end = max(end, it.endClock())
	}
	return out
}

// structQueue is the not yet processed part of one client's structs.
type structQueue struct {
	items []*Item
	i     int
}

// driver holds the state of one integrateStructs run.
type driver struct {
	tx    *txn
	refs  map[uint64]*structQueue
	ids   []uint64 // clients with queues, ascending; the highest is next
	stack []*Item
	state map[uint64]uint64 // cached next clock per client
	rest  *pendingStructs
}

// integrateStructs is the yjs driver: clients in descending order, with a
// depth-first stack for cross-client dependencies. It returns the structs
// that cannot be integrated yet.
func (tx *txn) integrateStructs(queues map[uint64][]*Item) *pendingStructs {
	dr := &driver{tx: tx, refs: make(map[uint64]*structQueue, len(queues)), state: map[uint64]uint64{}}
	for c, items := range queues {
		if len(items) > 0 {
			dr.refs[c] = &structQueue{items: items}
			dr.ids = append(dr.ids, c)
		}
	}
	slices.Sort(dr.ids)
	cur := dr.nextTarget()
	if cur == nil {
		return nil
	}
	head := cur.items[cur.i]
	cur.i++
	for {
		if next := dr.step(head); next != nil {
			head = next
			continue
		}
		switch {
		case len(dr.stack) > 0:
			head = dr.stack[len(dr.stack)-1]
			dr.stack = dr.stack[:len(dr.stack)-1]
		case cur != nil && cur.i < len(cur.items):
			head = cur.items[cur.i]
			cur.i++
		default:
			if cur = dr.nextTarget(); cur == nil {
				return dr.finish()
			}
			head = cur.items[cur.i]
			cur.i++
		}
	}
}

// step processes one struct. It returns the struct to process next when
// head waits for a dependency whose client still has queued structs.
func (dr *driver) step(head *Item) *Item {
	if head.Kind == KindSkip {
		return nil
	}
	tx := dr.tx
	c := head.ID.Client
	local, ok := dr.state[c]
	if !ok {
		local = tx.doc.state(c)
		dr.state[c] = local
	}
	if local < head.ID.Clock {
		// an earlier struct of the same client is missing
		dr.stack = append(dr.stack, head)
		dr.updateMissing(c, head.ID.Clock-1)
		dr.addStackToRest()
	} else if mc, missing := tx.getMissing(head); missing {
		dr.stack = append(dr.stack, head)
		q := dr.refs[mc]
		if q == nil || q.i == len(q.items) {
			// depends on an update we have not received
			dr.updateMissing(mc, tx.doc.state(mc))
			dr.addStackToRest()
		} else {
			next := q.items[q.i]
			q.i++
			return next
		}
	} else if offset := local - head.ID.Clock; offset < uint64(head.Length) {
		tx.integrate(head, int(offset))
		dr.state[c] = head.ID.Clock + uint64(head.Length)
	}
	return nil
}

func (dr *driver) nextTarget() *structQueue {
	for len(dr.ids) > 0 {
		q := dr.refs[dr.ids[len(dr.ids)-1]]
		if q != nil && q.i < len(q.items) {
			return q
		}
		dr.ids = dr.ids[:len(dr.ids)-1]
	}
	return nil
}

func (dr *driver) pending() *pendingStructs {
	if dr.rest == nil {
		dr.rest = &pendingStructs{missing: map[uint64]uint64{}, clients: map[uint64][]*Item{}}
	}
	return dr.rest
}

func (dr *driver) updateMissing(client, clock uint64) {
	p := dr.pending()
	if m, ok := p.missing[client]; !ok || clock < m {
		p.missing[client] = clock
	}
}

// addStackToRest moves the stacked structs and the rest of their clients'
// queues to the pending set.
func (dr *driver) addStackToRest() {
	rest := dr.pending()
	for _, it := range dr.stack {
		c := it.ID.Client
		// (yjs replaces, not appends, when a client comes up twice)
		if q := dr.refs[c]; q != nil {
			q.i--
			rest.clients[c] = q.items[q.i:]
			q.items, q.i = nil, 0
			delete(dr.refs, c)
		} else {
			rest.clients[c] = []*Item{it}
		}
		dr.ids = slices.DeleteFunc(dr.ids, func(x uint64) bool { return x == c })
	}
	dr.stack = dr.stack[:0]
}

func (dr *driver) finish() *pendingStructs {
	if dr.rest == nil || len(dr.rest.clients) == 0 {
		return nil
	}
	for c, items := range dr.rest.clients {
		dr.rest.clients[c] = detach(items)
	}
	return dr.rest
}

// detach copies structs moved to pending, clearing integration state and
// dropping Skip structs (gaps are implicit in the pending queues).
func detach(items []*Item) []*Item {
	out := make([]*Item, 0, len(items))
	for _, it := range items {
		if it.Kind == KindSkip {
			continue
		}
		it.left, it.right, it.parent = nil, nil, nil
		if it.ParentKind == parentInherit {
			// yjs re-encodes parked items from its decoded form, where
			// the key of an item with origins is unknown: no 0x20 flag
			it.HasParentSub, it.ParentSub = false, ""
		}
		out = append(out, it)
	}
	return out
}
