// What the hub does with the messages between nodes (Redis): handing them
// to rooms, and counting what is published and what is lost.

package collab

// deliver hands a message from another node to its room, if open here. It
// never waits (it runs on the bus's receive loop, which serves every
// room): a message the room's inbox has no space for is dropped, and
//
//   - an update: the room is marked to read the log (room.markBehind), as
//     soon as it gets to it; a later update's sequence number would reveal
//     the gap only if one came;
//   - presence, a file check or a flush request: handed over by a goroutine
//     of its own (rare, and a lost presence message would leave a room
//     publishing to no one, or not to a node that has it open);
//   - awareness: lost; clients renew their state at least every 15 s.
func (h *Hub) deliver(channel string, msg []byte) {
	h.mu.Lock()
	r := h.byChannel[channel]
	h.mu.Unlock()
	if r == nil || busFrom(msg) == h.opts.NodeID {
		return // not open here, or this node's own message back from Redis
	}
	ev := event{kind: evRemote, data: msg}
	select {
	case r.inbox <- ev:
		return
	default:
	}
	h.dropped(dropInbox, 1)
	if len(msg) == 0 {
		return
	}
	switch msg[0] {
	case busUpdate:
		r.markBehind()
	case busHere, busGone, busQuery, busCheck, busFlush:
		go r.send(ev)
	}
}

// resubscribed marks every room to read the log: the bus's subscription
// started on a new connection (see redisBus.subscribed).
func (h *Hub) resubscribed(reconnect bool) {
	if reconnect {
		h.resubs.Add(1)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.rooms {
		r.markBehind()
	}
}

// Kinds of relayed messages lost, for Dropped.
const (
	dropInbox   = iota // a room's inbox was full (Hub.deliver)
	dropPublish        // not published: the queue was full or Redis failed (redisBus)
	dropKinds
)

// dropped counts n messages lost at kind.
func (h *Hub) dropped(kind, n int) {
	h.drops[kind].Add(int64(n))
	if f := h.opts.OnDropped; f != nil {
		f()
	}
}

// Dropped counts the messages between nodes lost since the hub started:
// received ones a room's inbox had no space for, and ones this node could
// not publish. Either makes the rooms concerned read the log at once.
func (h *Hub) Dropped() (inbox, publish int64) {
	return h.drops[dropInbox].Load(), h.drops[dropPublish].Load()
}

// Resubscribes counts the times the Redis subscription was lost and
// started again on a new connection (every room then read the log).
func (h *Hub) Resubscribes() int64 { return h.resubs.Load() }

// Kinds of messages published to the other nodes, for Published.
const (
	pubUpdate    = iota // logged updates
	pubAwareness        // awareness entries
	pubControl          // the rest: presence (busHere, busGone), busCheck, busFlush
	pubKinds
)

// published counts a message of kind about to be published: before it is
// queued, so that a test seeing its effect on another node (Redis is
// quick) finds it counted.
func (h *Hub) published(kind int) { h.pubs[kind].Add(1) }

// Published counts the messages this node published to the other nodes
// (Redis) since it started: updates, awareness messages and the rest.
func (h *Hub) Published() (updates, awareness, control int64) {
	return h.pubs[pubUpdate].Load(), h.pubs[pubAwareness].Load(), h.pubs[pubControl].Load()
}
