// Knowing which other nodes have a room open, so that a room publishes its
// updates and awareness (Redis) only while someone reads them.

package collab

import (
	"ecode/internal/yjs/protocol"
)

// Flags of a busHere message.
const (
	hereAsk   = 1 // the sender just opened the room: answer with busHere
	hereCatch = 2 // the sender publishes to you from now on: read the log for what it committed before
)

// The room publishes an update once it is logged (appended) if, at that
// moment, it knows another node has the room open (peers); otherwise the
// update is only in the log. No update is lost to another node B that
// opens the room while this node A has it open:
//
//   - B subscribes to the room's channel, then publishes busHere(hereAsk),
//     then loads the log.
//   - A hears it (on its room goroutine, which also takes the results of
//     log writes), adds B to its peers and answers busHere(hereCatch). An
//     update A logged before is in the database before the answer is
//     sent, and B reads the log again on the answer; an update A logs
//     after is published, and B is subscribed.
//   - B hears the answer, adds A and, A being new to it, sends
//     busHere(hereCatch) in turn: the same holds for B's updates to A.
//
// The rule behind both: a room that adds a peer (from whatever message of
// it) sends busHere(hereCatch) and its awareness states, which are not
// logged. A room announces itself every Options.PresenceEvery and says
// busGone when it closes, after logging its last updates: a room that
// hears it reads the log (the closing room may not have heard it open). A
// peer not heard for 3 of those is dropped (a node that died). A peer kept too long only costs publishes no one reads;
// a message lost on the way (Redis down, a full inbox) only delays: the
// room reads the log on a gap in the relayed sequence numbers, on a
// dropped update or a restarted subscription (redisBus, Hub.deliver), and
// every Options.CatchUpEvery.

// publishing reports whether the room publishes to the other nodes.
func (r *room) publishing() bool { return r.h.bus != nil && len(r.peers) > 0 }

// announce tells the other nodes that this node has the room open.
func (r *room) announce(flags byte) {
	r.lastHere = r.now()
	r.h.published(pubControl)
	r.h.bus.publish(r.ctx(), r.channel, encodeBus(busHere, r.h.opts.NodeID, 0, []byte{flags}), r.h.log)
}

// leave tells the other nodes that this node closed the room (not when the
// node is aborted: it died).
func (r *room) leave() {
	if r.h.aborted.Load() {
		return
	}
	r.h.published(pubControl)
	r.h.bus.publish(r.ctx(), r.channel, encodeBus(busGone, r.h.opts.NodeID, 0, nil), r.h.log)
}

// heard records a message of node about the room; a node new to the room
// is told to read the log and given the awareness states (see above).
func (r *room) heard(node string) (added bool) {
	_, known := r.peers[node]
	r.peers[node] = r.now()
	if known {
		return false
	}
	r.countPeers()
	r.welcome()
	return true
}

// welcome sends a peer that may have missed this room's updates and
// awareness busHere(hereCatch) and the awareness states.
func (r *room) welcome() {
	r.announce(hereCatch)
	if states := r.aw.States(); len(states) > 0 {
		r.h.published(pubAwareness)
		r.h.bus.publish(r.ctx(), r.channel, encodeBus(busAwareness, r.h.opts.NodeID, 0, protocol.EncodeAwarenessUpdate(states)), r.h.log)
	}
}

// here handles a busHere (or, from a node before it, a busQuery: hereAsk)
// of node.
func (r *room) here(node string, flags byte) {
	if !r.heard(node) && flags&hereAsk != 0 {
		r.welcome() // node opened the room again
	}
	if flags&hereCatch != 0 {
		r.err = r.catchUp()
	}
}

// gone handles a busGone of node, and reads the log: node may have logged
// its last updates without publishing them, before it heard this room.
func (r *room) gone(node string) {
	delete(r.peers, node)
	r.countPeers()
	r.err = r.catchUp()
}

// tickPeers announces the room every Options.PresenceEvery and drops the
// peers not heard for 3 of those.
func (r *room) tickPeers() {
	if r.h.bus == nil {
		return
	}
	now, every := r.now(), r.h.opts.PresenceEvery
	for node, at := range r.peers {
		if now.Sub(at) > 3*every {
			delete(r.peers, node)
		}
	}
	r.countPeers()
	if now.Sub(r.lastHere) >= every {
		r.announce(0)
	}
}

// countPeers updates the count of peers Hub.Peers reads.
func (r *room) countPeers() {
	n := int32(len(r.peers))
	if r.npeers.Swap(n) != n {
		if f := r.h.opts.OnPeers; f != nil {
			f()
		}
	}
}
