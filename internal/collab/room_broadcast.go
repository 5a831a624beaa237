// Broadcasting to a room's clients and publishing awareness to the other nodes.

package collab

import (
	"ecode/internal/yjs/protocol"
)

// awarenessOut broadcasts accepted awareness entries to local clients and,
// if publish, to the other nodes.
func (r *room) awarenessOut(entries []protocol.AwarenessEntry, publish bool) {
	if len(entries) == 0 {
		return
	}
	payload := protocol.EncodeAwarenessUpdate(entries)
	r.broadcast(protocol.EncodeAwareness(payload))
	if publish && r.h.bus != nil {
		r.h.bus.publish(r.ctx(), r.channel, encodeBus(busAwareness, r.h.opts.NodeID, 0, payload), r.h.log)
	}
}

func (r *room) broadcast(msg []byte) {
	for c := range r.conns {
		c.enqueue(msg)
	}
}
