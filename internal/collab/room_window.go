// The broadcast window (Options.BroadcastWindow): the editors' updates held
// for a moment and sent as one message per editor.

package collab

import (
	"ecode/internal/yjs"
	"ecode/internal/yjs/protocol"
)

// toEditors sends an update integrated from a client (from; nil for the
// server's own edits) to the other editors: at once, or with a broadcast
// window, at the end of the window its first held update opened, joined
// with the others held (sendWindow). The server's edits (the agent, a
// change on disk) are rare and waited for (Hub.AgentEdit): they end the
// window and go at once.
func (r *room) toEditors(p pendingUpdate) {
	w := r.h.opts.BroadcastWindow
	if w <= 0 || p.from == nil {
		r.sendWindow()
		for c := range r.conns {
			if c != p.from && c.cl.CanWrite {
				c.enqueue(p.msg)
			}
		}
		return
	}
	r.window = append(r.window, p)
	if r.windowArmed {
		return
	}
	arm(&r.windowTimer, w)
	r.windowArmed = true
}

// awarenessToEditors sends an awareness message to every editor, behind
// the updates the window holds: a cursor may point into them.
func (r *room) awarenessToEditors(msg []byte) {
	if len(r.window) > 0 {
		r.windowAw = append(r.windowAw, msg)
		return
	}
	for c := range r.conns {
		if c.cl.CanWrite {
			c.enqueue(msg)
		}
	}
}

// sendWindow ends the broadcast window: every editor gets the updates held
// that others sent, joined into one message (as a connection's writer
// joins its queued updates), then the awareness held behind them. Editors
// that sent none of them share one message; each sender gets one without
// its own updates, which come back to it as their echo once logged
// (appended). Anything else sent to the editors that may depend on held
// updates calls it first (broadcast, a join, a query of awareness).
func (r *room) sendWindow() {
	if r.windowArmed {
		r.windowTimer.Stop()
		r.windowArmed = false
	}
	if len(r.window) == 0 {
		return
	}
	held, aw := r.window, r.windowAw
	senders := map[*conn]bool{}
	for _, p := range held {
		senders[p.from] = true
	}
	joined := map[*conn][][]byte{} // by the sender left out; nil: none
	for c := range r.conns {
		if !c.cl.CanWrite {
			continue
		}
		var skip *conn
		if senders[c] {
			skip = c
		}
		msgs, ok := joined[skip]
		if !ok {
			msgs = joinHeld(held, skip)
			joined[skip] = msgs
		}
		for _, m := range msgs {
			c.enqueue(m)
		}
		for _, m := range aw {
			c.enqueue(m)
		}
	}
	clear(held)
	clear(aw)
	r.window, r.windowAw = held[:0], aw[:0]
}

// joinHeld frames the held updates not sent by skip as few messages as it
// can: one, unless there are more than maxJoin of them or they cannot be
// joined.
func joinHeld(held []pendingUpdate, skip *conn) [][]byte {
	var msgs, ups, out [][]byte
	for _, p := range held {
		if skip != nil && p.from == skip {
			continue
		}
		msgs, ups = append(msgs, p.msg), append(ups, p.data)
		if len(ups) == maxJoin {
			out = append(out, joinUpdates(msgs, ups)...)
			msgs, ups = msgs[:0], ups[:0]
		}
	}
	return append(out, joinUpdates(msgs, ups)...)
}

// joinUpdates joins document updates (ups, framed for clients as msgs) into
// one update message (yjs.JoinUpdates), or returns msgs when there is one
// or they cannot be joined (then they go one by one).
func joinUpdates(msgs, ups [][]byte) [][]byte {
	if len(ups) < 2 {
		return msgs
	}
	j, err := yjs.JoinUpdates(ups)
	if err != nil {
		return msgs
	}
	return [][]byte{protocol.EncodeUpdate(j)}
}
