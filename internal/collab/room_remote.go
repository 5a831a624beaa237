// Messages relayed to a room from the other nodes (Redis).

package collab

import (
	"time"

	"ecode/internal/yjs/protocol"
)

// remote handles a message relayed from another node.
func (r *room) remote(data []byte) {
	kind, node, seq, payload, err := decodeBus(data)
	if err != nil || node == r.h.opts.NodeID {
		return
	}
	switch kind {
	case busUpdate:
		r.heard(node)
		if r.presence() || seq <= r.seq {
			return
		}
		// The document's own pending updates need not be logged first
		// (they are logged later, with later sequence numbers): waiting
		// for a transaction here would hold up the room for every
		// relayed update. Only a write in flight may hold the updates
		// just before seq.
		if seq != r.seq+1 && r.appending {
			if r.err = r.appended(<-r.appendDone); r.err != nil || seq <= r.seq {
				return
			}
		}
		if seq != r.seq+1 {
			r.err = r.catchUp()
			return
		}
		parked := r.doc.PendingStructs()
		u, err := r.doc.ApplyUpdateEmit(payload)
		if err != nil {
			r.err = r.catchUp()
			return
		}
		if f := r.h.opts.OnRelayed; f != nil {
			if sent := busSent(data); !sent.IsZero() {
				f(max(0, time.Since(sent)))
			}
		}
		r.seq = seq
		if u != nil {
			r.size += len(u)
			r.broadcast(protocol.EncodeUpdate(u))
			r.markDirty()
		}
		r.err = r.healGap(parked)
	case busAwareness:
		r.heard(node)
		entries, err := protocol.DecodeAwarenessUpdate(payload)
		if err != nil {
			return
		}
		accepted := r.aw.Apply(entries)
		now := r.now()
		for _, e := range accepted {
			if e.Removed() {
				delete(r.seen, e.ClientID)
			} else {
				r.seen[e.ClientID] = now
			}
		}
		r.awarenessOut(accepted, false)
	case busCheck:
		if r.err = r.commit(); r.err == nil {
			r.checkFile(true)
		}
	case busFlush:
		if r.leader {
			r.requestFlush(func() {})
		}
	case busHere:
		if len(payload) == 1 {
			r.here(node, payload[0])
		}
	case busQuery:
		r.here(node, hereAsk)
	case busGone:
		r.gone(node)
	}
}
