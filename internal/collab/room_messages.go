// The room's event handling and the messages of its clients.

package collab

import (
	"errors"

	"ecode/internal/yjs"
	"ecode/internal/yjs/protocol"
)

// handle processes one event; true means the room stops.
func (r *room) handle(ev event) bool {
	switch ev.kind {
	case evJoin:
		r.err = r.commit()
		r.sendWindow() // held updates are in the state the new client syncs with
		c := ev.conn
		r.conns[c] = struct{}{}
		if !c.cl.CanWrite {
			r.viewers++
		}
		c.directOn = r.directOn
		r.fanout()
		c.enqueue(protocol.EncodeSyncStep1(r.doc.StateVector()))
		if states := r.aw.States(); len(states) > 0 {
			c.enqueue(protocol.EncodeAwareness(protocol.EncodeAwarenessUpdate(states)))
		}
	case evLeave:
		c := ev.conn
		if _, ok := r.conns[c]; !ok {
			return false
		}
		delete(r.conns, c)
		if !c.cl.CanWrite {
			r.viewers--
		}
		r.fanout()
		ids := make([]uint64, 0, len(c.clients))
		for id := range c.clients {
			ids = append(ids, id)
			delete(r.seen, id)
		}
		r.awarenessOut(r.aw.Remove(ids), true)
	case evMsg:
		if _, ok := r.conns[ev.conn]; ok {
			r.message(ev.conn, ev.msg)
		}
	case evRemote:
		r.remote(ev.data)
	case evCheck:
		r.err = r.commit()
		if r.err == nil {
			r.checkFile(true)
		}
	case evFlush:
		done := ev.done
		if r.err = r.commit(); r.err == nil && r.leader {
			r.requestFlush(func() { close(done) })
		} else {
			close(done)
		}
	case evAgent:
		if r.err = r.commit(); r.err != nil {
			ev.agent.applied <- r.err
			return false
		}
		r.agentEdit(ev.agent)
	case evAgentDone:
		r.agentClear(ev.client)
	case evResync:
		if _, ok := r.conns[ev.conn]; ok {
			r.resync(ev.conn)
		}
	case evStop: // the last client left (acquire waits for a stopping room), or shutdown
		r.sendWindow()
		if ev.code == CloseProjectDeleted {
			r.closeAll(ev.code, "project deleted")
		} else if ev.code != CloseNormal {
			r.closeAll(ev.code, "server shutting down")
		}
		return true
	}
	return false
}

// message handles one client message.
func (r *room) message(c *conn, m *protocol.Message) {
	switch m.Type {
	case protocol.MessageSync:
		if m.SyncType == protocol.SyncStep1 {
			if r.err = r.commit(); r.err != nil {
				return
			}
			reply, _, err := protocol.HandleSync(r.doc, m)
			if err != nil {
				c.kill(CloseInvalid, "invalid state vector")
				return
			}
			c.enqueue(reply)
			return
		}
		if r.presence() {
			return // the presence room carries awareness only
		}
		if !c.cl.CanWrite {
			// dropped; told once if it would have added something (a
			// viewer's sync reply repeats the delete set: not worth a warning)
			if !c.denied && r.wouldAdd(m.Payload) {
				c.denied = true
				c.enqueue(protocol.EncodePermissionDenied("read-only: viewers cannot edit"))
			}
			return
		}
		if r.size+len(m.Payload) > r.h.opts.MaxDocBytes {
			c.kill(CloseTooBig, "document too large")
			return
		}
		_, u, err := protocol.HandleSync(r.doc, m)
		if errors.Is(err, yjs.ErrInternal) {
			r.err = err
			return
		}
		if err != nil {
			c.kill(CloseInvalid, "invalid update")
			return
		}
		if r.doc.PendingStructs() > maxPending {
			// updates whose dependencies never come: drop them by reloading
			c.kill(ClosePolicy, "too many updates with missing dependencies")
			r.err = errors.New("too many pending structs")
			return
		}
		r.integrated(u, c)
	case protocol.MessageAwareness:
		accepted := r.aw.Apply(m.Awareness)
		now := r.now()
		for _, e := range accepted {
			if e.Removed() {
				delete(c.clients, e.ClientID)
				delete(r.seen, e.ClientID)
			} else {
				c.clients[e.ClientID] = true
				r.seen[e.ClientID] = now
			}
		}
		r.awarenessOut(accepted, true)
	case protocol.MessageQueryAwareness:
		r.sendWindow() // the states may point into held updates
		c.enqueue(protocol.EncodeAwareness(protocol.EncodeAwarenessUpdate(r.aw.States())))
	case MessageFlush:
		if r.err = r.commit(); r.err != nil {
			return
		}
		if r.leader {
			r.requestFlush(func() { c.enqueue([]byte{MessageFlushed}) })
			return
		}
		if r.h.bus != nil {
			r.h.published(pubControl)
			r.h.bus.publish(r.ctx(), r.channel, encodeBus(busFlush, r.h.opts.NodeID, 0, nil), r.h.log)
		}
		c.enqueue([]byte{MessageFlushed})
	}
}

// wouldAdd reports whether update holds structs the document lacks.
func (r *room) wouldAdd(update []byte) bool {
	u, err := yjs.DecodeUpdate(update)
	if err != nil {
		return false
	}
	sv, err := yjs.DecodeStateVector(r.doc.StateVector())
	if err != nil {
		return false
	}
	for _, g := range u.Groups {
		end := g.Clock
		for _, s := range g.Structs {
			end += uint64(s.Length)
		}
		if end > sv[g.Client] {
			return true
		}
	}
	return false
}

// fanout turns the room's own writes to its connections on while it has
// at most Options.DirectFanout of them, off beyond (called on a join and a
// leave).
func (r *room) fanout() {
	on := len(r.conns) <= r.h.opts.DirectFanout
	if on == r.directOn {
		return
	}
	r.directOn = on
	for c := range r.conns {
		c.directOn = on
	}
}

// resync catches up a connection that lagged (conn.enqueue): it gets the
// whole document as one update, which merges everything it missed, the
// server's state vector (so it sends back whatever it has that the server
// lacks), every awareness state, then the messages held for it. The log is
// written first: like a joining client, it must not see unlogged updates
// (a viewer cannot give them back). A state larger than MaxResyncBytes
// closes the connection (1013) instead; the client reconnects and syncs.
func (r *room) resync(c *conn) {
	if r.err = r.commit(); r.err != nil {
		return
	}
	held := c.held
	c.lagging, c.held = false, nil
	if !r.presence() {
		st, err := r.doc.EncodeStateAsUpdate(nil)
		if err != nil {
			r.err = err
			return
		}
		if len(st) > r.h.opts.MaxResyncBytes {
			c.kill(CloseTryAgainLater, "client too slow")
			return
		}
		c.enqueue(protocol.EncodeUpdate(st))
		c.enqueue(protocol.EncodeSyncStep1(r.doc.StateVector()))
	}
	if states := r.aw.States(); len(states) > 0 {
		c.enqueue(protocol.EncodeAwareness(protocol.EncodeAwarenessUpdate(states)))
	}
	for _, m := range held {
		c.enqueue(m)
	}
}
