package collab

import (
	"context"
	"encoding/json"
	"errors"
	"hash/fnv"
	"time"
	"unicode/utf16"

	"ecode/internal/workspace"
	"ecode/internal/yjs"
	"ecode/internal/yjs/protocol"
)

// Actor is a non-human editor (the AI agent) as editors show it: the name
// and colour of its cursor.
type Actor struct {
	Name  string
	Color string
}

// ErrNotOpen is returned by AgentEdit when the file has no document this
// node writes (no room open here, or another node holds its flush lease):
// the caller writes the file itself and calls FileChanged.
var ErrNotOpen = errors.New("collab: the file is not open for live editing on this node")

// agentClientBase puts agents' Yjs client ids above 2^32: browsers pick
// theirs among uint32 values and the seed uses ServerClientID, so an
// agent's id is never one of theirs.
const agentClientBase = 1 << 32

// AgentClientID is the Yjs client id of actor's edits in a project: stable
// (the same every turn and on every node) and never a browser's id.
func AgentClientID(projectID string, actor Actor) uint64 {
	h := fnv.New64a()
	h.Write([]byte(projectID))
	h.Write([]byte{0})
	h.Write([]byte(actor.Name))
	return agentClientBase + h.Sum64()%(yjs.MaxSafeInteger-agentClientBase)
}

// agentEdit is a request of AgentEdit to a room.
type agentEdit struct {
	text  string
	actor Actor
	// applied gets the outcome of the edit; flushed is closed once the
	// file holds it (after applied got nil).
	applied chan error
	flushed chan struct{}
}

// agentCursor is an actor whose awareness state a room publishes.
type agentCursor struct {
	last time.Time // its last edit
}

// AgentEdit makes newText the text of an open file as a live edit of
// actor: the change is diffed against the text the file had on disk (so
// what people typed since is kept, as with FileChanged), applied to the
// document as Yjs edits of the actor's client (AgentClientID), logged and
// broadcast like any update, and written to the file before AgentEdit
// returns (so what runs next sees it). The actor's cursor (an awareness
// state {"user": {name, color}, "cursor": {anchor, head}}) is put at the end
// of the last changed range; it is cleared by AgentDone, or after
// Options.AgentIdle without edits.
//
// ErrNotOpen means the file is not open here (or another node writes it):
// write the file and call FileChanged instead.
func (h *Hub) AgentEdit(ctx context.Context, projectID, path, newText string, actor Actor) error {
	clean, err := workspace.CleanPath(path)
	if err != nil || clean == "" {
		return ErrNotOpen
	}
	h.mu.Lock()
	r := h.rooms[key{projectID, clean}]
	if r == nil || r.stopping || h.closed {
		h.mu.Unlock()
		return ErrNotOpen
	}
	r.refs++
	h.mu.Unlock()
	defer h.release(r)
	req := &agentEdit{text: newText, actor: actor, applied: make(chan error, 1), flushed: make(chan struct{})}
	if !r.sendOrQuit(event{kind: evAgent, agent: req}, ctx.Done()) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return ErrNotOpen
	}
	select {
	case err := <-req.applied:
		if err != nil {
			return err
		}
	case <-r.done:
		return ErrNotOpen // ended before taking the edit
	}
	// the document has the edit: wait for the file to hold it, which the
	// room (or, if it stops, its final write) does
	select {
	case <-req.flushed:
	case <-r.done:
	case <-ctx.Done():
	}
	return nil
}

// AgentDone clears the cursor of actor from the project's open documents
// on this node (the agent's turn ended). It does not wait.
func (h *Hub) AgentDone(projectID string, actor Actor) {
	h.mu.Lock()
	var rooms []*room
	for k, r := range h.rooms {
		if k.project == projectID && k.path != "" {
			rooms = append(rooms, r)
		}
	}
	h.mu.Unlock()
	id := AgentClientID(projectID, actor)
	for _, r := range rooms {
		r.trySend(event{kind: evAgentDone, client: id})
	}
}

// agentEdit applies an AgentEdit request (room goroutine).
func (r *room) agentEdit(req *agentEdit) {
	fail := func(err error) { req.applied <- err }
	if r.presence() || !r.leader {
		fail(ErrNotOpen)
		return
	}
	if r.h.bus != nil { // updates of this actor logged by another node come first
		if r.err = r.catchUp(); r.err != nil {
			fail(r.err)
			return
		}
	}
	if !r.flushing {
		r.checkFile(true) // the base is what the file holds now
		if r.err != nil {
			fail(r.err)
			return
		}
	}
	id := AgentClientID(r.key.project, req.actor)
	// The edit is made against the base (the text last on disk, which the
	// agent read) and merged into the document, so typing not yet written
	// survives; if the base lacks some of the actor's own edits, against
	// the document itself.
	work := r.baseDoc()
	if work == nil || work.ClientState(id) != r.doc.ClientState(id) {
		work = r.doc
	}
	edits := yjs.Diff(work.Text(TextName), req.text)
	if len(edits) == 0 {
		req.applied <- nil
		close(req.flushed)
		return
	}
	u, err := work.ApplyEdits(TextName, edits, id)
	if err == nil && work != r.doc && u != nil {
		u, err = r.doc.ApplyUpdateEmit(u)
	}
	if err != nil {
		fail(err)
		if errors.Is(err, yjs.ErrInternal) {
			r.err = err
		}
		return
	}
	r.integrated(u, nil)
	if r.err = r.commit(); r.err != nil {
		fail(r.err)
		return
	}
	req.applied <- nil
	// the cursor: after the last changed range, following the text before it
	shift := 0
	for _, e := range edits[:len(edits)-1] {
		shift += utf16Len(e.Insert) - e.Delete
	}
	last := edits[len(edits)-1]
	r.agentCursor(id, req.actor, work.RelativePosition(TextName, last.Pos+shift+utf16Len(last.Insert), -1))
	flushed := req.flushed
	r.requestFlush(func() { close(flushed) })
}

// agentCursor publishes the awareness state of an agent's client.
func (r *room) agentCursor(id uint64, actor Actor, pos yjs.RelativePosition) {
	type user struct {
		Name  string `json:"name"`
		Color string `json:"color"`
	}
	type cursor struct {
		Anchor yjs.RelativePosition `json:"anchor"`
		Head   yjs.RelativePosition `json:"head"`
	}
	state, err := json.Marshal(struct {
		User   user   `json:"user"`
		Cursor cursor `json:"cursor"`
	}{user{actor.Name, actor.Color}, cursor{pos, pos}})
	if err != nil {
		return
	}
	now := r.now()
	if r.agents == nil {
		r.agents = map[uint64]*agentCursor{}
	}
	r.agents[id] = &agentCursor{last: now}
	r.awarenessOut(r.aw.Apply([]protocol.AwarenessEntry{{ClientID: id, Clock: r.agentClock(id), State: string(state)}}), true)
}

// agentClock is the next awareness clock of an agent's client: above any
// it had, and at least the time in milliseconds, so that browsers that
// kept an older clock (the room was reopened since) take it.
func (r *room) agentClock(id uint64) uint64 {
	return max(r.aw.Clock(id)+1, uint64(max(r.now().UnixMilli(), 0)))
}

// agentClear removes an agent's awareness state with a newer clock (as
// y-protocols does when a client removes its own state).
func (r *room) agentClear(id uint64) {
	if _, ok := r.agents[id]; !ok {
		return
	}
	delete(r.agents, id)
	r.awarenessOut(r.aw.Apply([]protocol.AwarenessEntry{{ClientID: id, Clock: r.agentClock(id), State: "null"}}), true)
}

// agentExpire clears the cursors of agents idle for Options.AgentIdle.
func (r *room) agentExpire(now time.Time) {
	for id, a := range r.agents {
		if now.Sub(a.last) >= r.h.opts.AgentIdle {
			r.agentClear(id)
		}
	}
}

func utf16Len(s string) int {
	n := 0
	for _, c := range s {
		n += utf16.RuneLen(c)
	}
	return n
}

// AgentActor is the AI agent of E-Code as editors show it.
var AgentActor = Actor{Name: "Agent", Color: "#a855f7"}

// EditAsAgent is AgentEdit by AgentActor (the hook of package agentrun).
func (h *Hub) EditAsAgent(ctx context.Context, projectID, path, text string) error {
	return h.AgentEdit(ctx, projectID, path, text, AgentActor)
}

// AgentTurnEnded is AgentDone of AgentActor (the hook of package agentrun).
func (h *Hub) AgentTurnEnded(projectID string) { h.AgentDone(projectID, AgentActor) }
