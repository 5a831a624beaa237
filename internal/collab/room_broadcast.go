// Broadcasting to a room's clients and publishing awareness to the other nodes.

package collab

import (
	"ecode/internal/yjs/protocol"
)

// awarenessOut broadcasts accepted awareness entries to local clients and,
// if publish, to the other nodes.
//
// A state may point into updates not logged yet (a cursor after the
// character just typed). Editors have those updates already (integrated
// sends them at once, or the broadcast window holds them and the state
// behind them) and get the state now; viewers and the other nodes get
// updates only once they are logged, so they get the state after them
// (appended releases it): everyone sees a cursor after the text it points
// into, and awareness, which is not logged, costs no log write.
func (r *room) awarenessOut(entries []protocol.AwarenessEntry, publish bool) {
	if len(entries) == 0 {
		return
	}
	payload := protocol.EncodeAwarenessUpdate(entries)
	msg := protocol.EncodeAwareness(payload)
	if !publish {
		payload = nil
	}
	if r.integratedN == r.loggedN && len(r.window) == 0 {
		r.broadcast(msg)
		r.publishAwareness(payload)
		return
	}
	r.awarenessToEditors(msg)
	r.heldAwareness = append(r.heldAwareness, heldAwareness{upTo: r.integratedN, msg: msg, payload: payload})
	r.releaseAwareness() // at once if only the window held it back
}

// heldAwareness is an awareness message waiting for the updates integrated
// before it to be logged (awarenessOut).
type heldAwareness struct {
	upTo    int64  // sent once loggedN reaches it
	msg     []byte // for viewers
	payload []byte // for the other nodes; nil: not published
}

// releaseAwareness sends the held awareness messages whose updates are
// logged to the viewers and the other nodes (called by appended).
func (r *room) releaseAwareness() {
	n := 0
	for _, a := range r.heldAwareness {
		if a.upTo > r.loggedN {
			break
		}
		for c := range r.conns {
			if !c.cl.CanWrite {
				c.enqueue(a.msg)
			}
		}
		r.publishAwareness(a.payload)
		n++
	}
	if n > 0 {
		r.heldAwareness = append(r.heldAwareness[:0], r.heldAwareness[n:]...)
	}
}

// publishAwareness publishes awareness entries to the other nodes that
// have the room open (none: a node opening it later gets every state from
// this room's welcome, see room_peers.go).
func (r *room) publishAwareness(payload []byte) {
	if payload != nil && r.publishing() {
		r.h.published(pubAwareness)
		r.h.bus.publish(r.ctx(), r.channel, encodeBus(busAwareness, r.h.opts.NodeID, 0, payload), r.h.log)
	}
}

// broadcast sends msg to every client, after what the broadcast window
// holds for the editors (msg may depend on it: an update relayed by
// another node whose sender saw them).
func (r *room) broadcast(msg []byte) {
	r.sendWindow()
	for c := range r.conns {
		c.enqueue(msg)
	}
}
