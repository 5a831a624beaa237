package yjs

import "slices"

// commit finishes a transaction like yjs cleanupTransactions: normalise the
// delete set, garbage-collect deleted content, merge adjacent structs and
// return the update describing the transaction (nil if nothing changed).
func (tx *txn) commit(emit bool) []byte {
	d := tx.doc
	tx.ds.normalize()
	changed := map[uint64]uint64{} // client -> before, for clients that grew
	for c, before := range tx.before {
		if d.state(c) != before {
			changed[c] = before
		}
	}
	if d.gc {
		tx.gcDeleteSet()
	}
	tx.mergeDeleteSet()
	for c, before := range changed {
		first := max(findIndex(d.clients[c], before), 1)
		for i := len(d.clients[c]) - 1; i >= first; {
			i -= 1 + tx.tryMergeWithLefts(c, i)
		}
	}
	for i := len(tx.merge) - 1; i >= 0; i-- {
		id := tx.merge[i].ID
		s := d.clients[id.Client]
		pos := findIndex(s, id.Clock)
		if pos < 0 {
			continue
		}
		if pos+1 < len(s) && tx.tryMergeWithLefts(id.Client, pos+1) > 1 {
			continue
		}
		if pos > 0 {
			tx.tryMergeWithLefts(id.Client, pos)
		}
	}
	if !emit || (len(changed) == 0 && tx.ds.empty()) {
		return nil
	}
	e := NewEncoder()
	d.writeStructs(e, changed)
	writeDeleteSetEntries(e, tx.ds.entries())
	return e.Bytes()
}

func (tx *txn) gcDeleteSet() {
	d := tx.doc
	for client, ranges := range tx.ds {
		for k := len(ranges) - 1; k >= 0; k-- {
			r := ranges[k]
			end := r.Clock + r.Len
			s := d.clients[client]
			for si := findIndex(s, r.Clock); si >= 0 && si < len(s) && s[si].ID.Clock < end; si++ {
				if it := s[si]; it.Kind == KindItem && it.deleted && !it.keep {
					tx.gcItem(it, false)
				}
			}
		}
	}
}

func (tx *txn) mergeDeleteSet() {
	d := tx.doc
	for client, ranges := range tx.ds {
		for k := len(ranges) - 1; k >= 0; k-- {
			r := ranges[k]
			s := d.clients[client]
			si := min(len(s)-1, 1+findIndex(s, r.Clock+r.Len-1))
			for si > 0 && d.clients[client][si].ID.Clock >= r.Clock {
				si -= 1 + tx.tryMergeWithLefts(client, si)
			}
		}
	}
}

// writeStructs writes, for every client of from, the structs from that
// clock on (yjs writeStructs); clients are written in descending order.
func (d *Doc) writeStructs(e *Encoder, from map[uint64]uint64) {
	clients := make([]uint64, 0, len(from))
	for c, clock := range from {
		if d.state(c) > clock {
			clients = append(clients, c)
		}
	}
	slices.SortFunc(clients, cmpDesc)
	e.WriteVarUint(uint64(len(clients)))
	for _, c := range clients {
		s := d.clients[c]
		clock := max(from[c], s[0].ID.Clock)
		start := findIndex(s, clock)
		e.WriteVarUint(uint64(len(s) - start))
		e.WriteVarUint(c)
		e.WriteVarUint(clock)
		s[start].write(e, int(clock-s[start].ID.Clock))
		for _, it := range s[start+1:] {
			it.write(e, 0)
		}
	}
}

// diffFrom returns, for every client with structs beyond sv, the clock to
// write from.
func (d *Doc) diffFrom(sv StateVector) map[uint64]uint64 {
	from := map[uint64]uint64{}
	for c := range d.clients {
		if d.state(c) > sv[c] {
			from[c] = sv[c]
		}
	}
	return from
}

// deleteSetFromStore collects every deleted item and GC range.
func (d *Doc) deleteSetFromStore() deleteSet {
	ds := deleteSet{}
	for c, s := range d.clients {
		for i := 0; i < len(s); i++ {
			if !s[i].Deleted() {
				continue
			}
			clock, n := s[i].ID.Clock, uint64(s[i].Length)
			for i+1 < len(s) && s[i+1].Deleted() {
				i++
				n += uint64(s[i].Length)
			}
			ds[c] = append(ds[c], DeleteRange{clock, n})
		}
	}
	return ds
}

// EncodeStateAsUpdate encodes everything the holder of the encoded state
// vector sv lacks (the whole document when sv is empty), including parked
// structs and deletes, like yjs encodeStateAsUpdate.
func (d *Doc) EncodeStateAsUpdate(sv []byte) ([]byte, error) {
	target, err := DecodeStateVector(sv)
	if err != nil {
		return nil, err
	}
	ds := d.deleteSetFromStore()
	if d.pending == nil && len(d.pendingDS) == 0 {
		e := NewEncoder()
		d.writeStructs(e, d.diffFrom(target))
		writeDeleteSetEntries(e, ds.entries())
		return e.Bytes(), nil
	}
	return d.encodeWithPending(target, ds), nil
}

// encodeWithPending merges the document diff with the parked structs and
// deletes (the subset of yjs mergeUpdates needed here).
func (d *Doc) encodeWithPending(target StateVector, ds deleteSet) []byte {
	runs := map[uint64][]*Item{}
	for c, s := range d.clients {
		if len(s) == 0 || d.state(c) <= target[c] {
			continue
		}
		clock := max(target[c], s[0].ID.Clock)
		start := findIndex(s, clock)
		run := slices.Clone(s[start:])
		if off := int(clock - run[0].ID.Clock); off > 0 {
			run[0] = run[0].sliceCopy(off)
		}
		runs[c] = run
	}
	if d.pending != nil {
		for c, items := range d.pending.clients {
			// integrated structs win over parked copies of the same clocks
			from := max(target[c], d.state(c))
			for _, it := range items {
				if it.endClock() <= from {
					continue
				}
				if from > it.ID.Clock {
					it = it.sliceCopy(int(from - it.ID.Clock))
				}
				runs[c] = append(runs[c], it)
			}
		}
	}
	for c, rs := range d.pendingDS {
		ds[c] = append(ds[c], rs...)
	}
	ds.normalize()
	clients := make([]uint64, 0, len(runs))
	for c := range runs {
		clients = append(clients, c)
	}
	slices.SortFunc(clients, cmpDesc)
	u := &Update{DeleteSet: ds.entries()}
	for _, c := range clients {
		if g := mergeRun(c, runs[c]); len(g.Structs) > 0 {
			u.Groups = append(u.Groups, g)
		}
	}
	// yjs produces this through mergeUpdates, which re-encodes decoded
	// structs
	return u.encode(&Encoder{lazy: true})
}

// mergeRun orders the structs of one client, drops covered parts and fills
// gaps with Skip structs.
func mergeRun(client uint64, items []*Item) StructGroup {
	items = mergePendingQueue(nil, items)
	g := StructGroup{Client: client}
	var end uint64
	for i, it := range items {
		if i == 0 {
			g.Clock = it.ID.Clock
		} else if it.ID.Clock < end {
			it = it.sliceCopy(int(end - it.ID.Clock))
		} else if it.ID.Clock > end {
			g.Structs = append(g.Structs, &Item{ID: ID{client, end}, Length: int(it.ID.Clock - end), Kind: KindSkip})
		}
		if n := len(g.Structs); n > 0 && it.Kind == KindGC && g.Structs[n-1].Kind == KindGC {
			gc := *g.Structs[n-1]
			gc.Length += it.Length
			g.Structs[n-1] = &gc
		} else {
			g.Structs = append(g.Structs, it)
		}
		end = it.endClock()
	}
	return g
}
