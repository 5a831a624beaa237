package yjs

import (
	"errors"
	"fmt"
	"slices"
)

// Doc is a Yjs document: the struct store, the root types and the parked
// (pending) structs and deletes that wait for missing dependencies.
type Doc struct {
	gc      bool
	clients map[uint64][]*Item
	roots   map[string]*sharedType

	pending   *pendingStructs
	pendingDS deleteSet
}

// ErrInternal reports a bug found while integrating an update (a recovered
// panic). The document may be inconsistent afterwards; discard it.
var ErrInternal = errors.New("yjs: internal error")

// pendingStructs are structs that could not be integrated yet, per client
// in clock order, with the first missing clock that blocks them.
type pendingStructs struct {
	missing map[uint64]uint64
	clients map[uint64][]*Item
}

// NewDoc returns an empty document with garbage collection enabled (the
// default of yjs and of the y-websocket server).
func NewDoc() *Doc {
	return &Doc{gc: true, clients: map[uint64][]*Item{}, roots: map[string]*sharedType{}}
}

// SetGC enables or disables garbage collection of deleted content. With GC
// off, deleted text stays in the document (needed for snapshots).
func (d *Doc) SetGC(on bool) { d.gc = on }

func (d *Doc) root(name string) *sharedType {
	b := d.roots[name]
	if b == nil {
		b = newBranch(name, nil)
		d.roots[name] = b
	}
	return b
}

// txn is one transaction: everything one ApplyUpdate or local edit does.
type txn struct {
	doc *Doc
	// before holds the state at the start of the transaction of every
	// client that gained structs (recorded on first append).
	before map[uint64]uint64
	ds     deleteSet
	merge  []*Item
	local  bool
}

func (d *Doc) begin(local bool) *txn {
	return &txn{doc: d, before: map[uint64]uint64{}, ds: deleteSet{}, local: local}
}

// beforeState is the state of client at the start of the transaction.
func (tx *txn) beforeState(client uint64) uint64 {
	if s, ok := tx.before[client]; ok {
		return s
	}
	return tx.doc.state(client)
}

// addStruct appends it to its client's structs, recording the state the
// client had before the transaction.
func (tx *txn) addStruct(it *Item) {
	c := it.ID.Client
	if _, ok := tx.before[c]; !ok {
		tx.before[c] = tx.doc.state(c)
	}
	tx.doc.addStruct(it)
}

// StateVector returns the encoded state vector of the integrated structs.
func (d *Doc) StateVector() []byte { return EncodeStateVector(d.stateVector()) }

func (d *Doc) stateVector() StateVector {
	sv := make(StateVector, len(d.clients))
	for c := range d.clients {
		if s := d.state(c); s > 0 {
			sv[c] = s
		}
	}
	return sv
}

// HasPending reports whether structs or deletes wait for missing
// dependencies.
func (d *Doc) HasPending() bool { return d.pending != nil || len(d.pendingDS) > 0 }

// PendingStructs returns how many structs wait for missing dependencies
// (for metrics and to cap what a client can park in a document).
func (d *Doc) PendingStructs() int {
	if d.pending == nil {
		return 0
	}
	n := 0
	for _, items := range d.pending.clients {
		n += len(items)
	}
	return n
}

// ApplyUpdate integrates an update (v1). A malformed update is rejected
// with an error before anything changes.
func (d *Doc) ApplyUpdate(update []byte) error {
	_, err := d.applyUpdate(update, false)
	return err
}

// ApplyUpdateEmit is ApplyUpdate that also returns the update yjs would
// emit for this transaction (what was actually integrated: the one to
// broadcast and persist), or nil when nothing changed.
func (d *Doc) ApplyUpdateEmit(update []byte) ([]byte, error) {
	return d.applyUpdate(update, true)
}

func (d *Doc) applyUpdate(update []byte, emit bool) (emitted []byte, err error) {
	u, err := DecodeUpdate(update)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			emitted, err = nil, fmt.Errorf("%w applying update: %v", ErrInternal, r)
		}
	}()
	tx := d.begin(false)
	queues := map[uint64][]*Item{}
	for _, g := range u.Groups {
		queues[g.Client] = g.Structs // a repeated client replaces, as in yjs
	}
	var ds deleteSet
	if len(u.DeleteSet) > 0 {
		ds = deleteSet{}
	}
	for _, e := range u.DeleteSet {
		ds[e.Client] = append(ds[e.Client], e.Ranges...)
	}
	tx.applyStructsAndDeletes(queues, ds)
	return tx.commit(emit), nil
}

// applyStructsAndDeletes is the body of yjs readUpdate: integrate structs,
// park the rest, apply deletes (and parked deletes), retry parked structs.
func (tx *txn) applyStructsAndDeletes(queues map[uint64][]*Item, ds deleteSet) {
	d := tx.doc
	rest := tx.integrateStructs(queues)
	retry := false
	if p := d.pending; p != nil {
		for c, clock := range p.missing {
			if clock < d.state(c) {
				retry = true
				break
			}
		}
		if rest != nil {
			p.add(rest)
		}
	} else {
		d.pending = rest
	}
	dsRest := tx.applyDeleteSet(ds)
	if len(d.pendingDS) > 0 {
		old := d.pendingDS
		d.pendingDS = nil
		dsRest2 := tx.applyDeleteSet(old)
		if dsRest == nil {
			dsRest = dsRest2
		} else {
			for c, rs := range dsRest2 {
				dsRest[c] = append(dsRest[c], rs...)
			}
		}
	}
	dsRest.normalize()
	d.pendingDS = dsRest
	if len(d.pendingDS) == 0 {
		d.pendingDS = nil
	}
	if retry {
		p := d.pending
		d.pending = nil
		tx.applyStructsAndDeletes(p.clients, nil)
	}
}

// applyDeleteSet deletes the known part of ds and returns the unknown rest
// (nil if everything was known).
func (tx *txn) applyDeleteSet(ds deleteSet) deleteSet {
	d := tx.doc
	var rest deleteSet
	park := func(client, clock, n uint64) {
		if rest == nil {
			rest = deleteSet{}
		}
		rest.add(client, clock, n)
	}
	for client, ranges := range ds {
		state := d.state(client)
		for _, r := range ranges {
			end := r.Clock + r.Len
			if r.Clock >= state {
				park(client, r.Clock, r.Len)
				continue
			}
			if state < end {
				park(client, state, end-state)
			}
			tx.deleteRange(client, r.Clock, min(end, state))
		}
	}
	return rest
}

// deleteRange deletes the known clocks [clock, end) of client.
func (tx *txn) deleteRange(client, clock, end uint64) {
	d := tx.doc
	s := d.clients[client]
	i := findIndex(s, clock)
	if it := s[i]; !it.Deleted() && it.ID.Clock < clock {
		r := tx.splitItem(it, int(clock-it.ID.Clock))
		s = slices.Insert(s, i+1, r)
		d.clients[client] = s
		i++
	}
	for i < len(s) {
		it := s[i]
		i++
		if it.ID.Clock >= end {
			break
		}
		if !it.Deleted() {
			if end < it.endClock() {
				r := tx.splitItem(it, int(end-it.ID.Clock))
				s = slices.Insert(s, i, r)
				d.clients[client] = s
			}
			tx.delete(it)
		}
	}
}
