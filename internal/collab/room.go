package collab

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"syscall"
	"time"
	"unicode/utf8"

	"ecode/internal/store"
	"ecode/internal/workspace"
	"ecode/internal/yjs"
	"ecode/internal/yjs/protocol"
)

// maxPending caps the structs a document parks while waiting for missing
// dependencies (a client sending updates that depend on nothing it sends).
const maxPending = 20000

type eventKind int

const (
	evJoin eventKind = iota
	evLeave
	evMsg
	evRemote // a message from another node
	evCheck  // the file may have changed on disk
	evFlush  // write the file now, then close done
	evStop
	evAgent     // an edit of the agent (Hub.AgentEdit)
	evAgentDone // the agent's turn ended: clear its cursor
)

type event struct {
	kind eventKind
	conn *conn
	msg  *protocol.Message
	data []byte
	code int
	done chan struct{}

	agent  *agentEdit // evAgent
	client uint64     // evAgentDone
}

// room is one open document: its goroutine owns every field below mu-less.
type room struct {
	h       *Hub
	key     key
	channel string
	inbox   chan event
	done    chan struct{}

	// guarded by h.mu
	refs     int
	stopping bool

	// set before done is closed
	failCode   int
	failReason string

	// owned by the room's goroutine
	doc          *yjs.Doc
	base         *yjs.Doc // the document as last written to (or read from) the file
	aw           *protocol.Awareness
	seen         map[uint64]time.Time
	conns        map[*conn]struct{}
	seq          int64             // the document holds every logged update up to seq
	pending      []pendingUpdate   // integrated updates not yet logged
	appending    bool              // a write of the log is in flight (startAppend)
	appendDone   chan appendResult // its result
	sinceCompact int
	size         int
	leader       bool // holds the flush lease
	leaseUntil   time.Time
	disk         string // the file's text as last read or written (leader only)
	stat         fileStat
	fileHash     string
	prevHash     string
	dirty        bool
	dirtySince   time.Time
	flushTimer   *time.Timer
	flushing     bool             // a write of the file is in flight
	flushDone    chan flushResult // its result
	flushBase    *yjs.Doc         // the document as written by it
	recheck      bool             // check the file once the write is done
	waitNext     []func()         // flush requests served by the next write
	waitCur      []func()         // ... and by the write in flight
	lastCatchUp  time.Time
	agents       map[uint64]*agentCursor // agents whose cursor is shown
	err          error
}

type flushResult struct {
	text string
	stat fileStat
	err  error
}

type fileStat struct {
	size  int64
	mtime time.Time
	ino   uint64
}

func newRoom(h *Hub, k key) *room {
	r := &room{h: h, key: k, inbox: make(chan event, 1024), done: make(chan struct{}), flushDone: make(chan flushResult, 1), appendDone: make(chan appendResult, 1),
		aw: protocol.NewAwareness(), seen: map[uint64]time.Time{}, conns: map[*conn]struct{}{}}
	r.channel = h.channel(k)
	return r
}

func (r *room) presence() bool { return r.key.path == "" }

// send delivers ev unless the room has ended.
func (r *room) send(ev event) bool {
	select {
	case r.inbox <- ev:
		return true
	case <-r.done:
		return false
	}
}

func (r *room) sendOrQuit(ev event, quit <-chan struct{}) bool {
	select {
	case r.inbox <- ev:
		return true
	case <-r.done:
		return false
	case <-quit:
		return false
	}
}

// trySend delivers ev if the inbox has room (for events that may be lost).
func (r *room) trySend(ev event) {
	select {
	case r.inbox <- ev:
	default:
	}
}

func (r *room) failure() (int, string) {
	if r.failCode == 0 {
		return CloseGoingAway, "document closed"
	}
	return r.failCode, r.failReason
}

func (r *room) log() *slog.Logger {
	return r.h.log.With("project_id", r.key.project, "path", r.key.path)
}

func (r *room) ctx() context.Context { return r.h.ctx }

func (r *room) now() time.Time { return r.h.opts.Now() }

// loadError carries the close code for a document that cannot be opened.
type loadError struct {
	code   int
	reason string
}

func (e *loadError) Error() string { return e.reason }

func (r *room) run() {
	defer r.exit()
	if r.h.bus != nil {
		r.h.bus.subscribe(r.channel)
		defer r.h.bus.unsubscribe(r.channel)
	}
	if r.h.bus != nil { // learn who is connected to the other nodes
		r.h.bus.publish(r.ctx(), r.channel, encodeBus(busQuery, r.h.opts.NodeID, 0, nil), r.h.log)
	}
	if err := r.load(); err != nil {
		var le *loadError
		if errors.As(err, &le) {
			r.failCode, r.failReason = le.code, le.reason
		} else {
			r.log().Error("open document", "err", err)
			r.failCode, r.failReason = CloseServerError, "cannot open the document"
		}
		return
	}
	poll := time.NewTicker(r.h.opts.PollInterval)
	defer poll.Stop()
	for {
		var flushC <-chan time.Time
		if r.flushTimer != nil {
			flushC = r.flushTimer.C
		}
		select {
		case ev := <-r.inbox:
			stop := r.handle(ev)
			for i := 0; !stop && r.err == nil && i < 256 && len(r.inbox) > 0; i++ {
				stop = r.handle(<-r.inbox)
			}
			if stop && r.err == nil {
				if r.err = r.commit(); r.err == nil {
					if !r.h.aborted.Load() {
						r.finishFlushes()
					}
					return
				}
			}
			if r.err == nil {
				r.startAppend()
			}
		case res := <-r.appendDone:
			if r.err = r.appended(res); r.err == nil {
				r.startAppend() // what came in meanwhile, in one write
			}
		case <-flushC:
			r.flushTimer = nil
			r.flush()
		case res := <-r.flushDone:
			r.flushed(res)
		case <-poll.C:
			r.tick()
		}
		if r.err != nil {
			var le *loadError
			if errors.As(r.err, &le) {
				r.closeAll(le.code, le.reason)
				return
			}
			r.log().Error("document failed; clients will reconnect and it is reloaded", "err", r.err)
			r.closeAll(CloseServerError, "server error, reconnect")
			return
		}
	}
}

// exit releases the lease and unregisters the room; closing done ends
// every connection that joined it (see Hub.Serve).
func (r *room) exit() {
	if r.appending {
		<-r.appendDone // failed: nothing is sent
	}
	if r.flushTimer != nil {
		r.flushTimer.Stop()
	}
	if r.leader && !r.h.aborted.Load() {
		if err := r.h.st.CollabReleaseLease(r.ctx(), r.key.project, r.key.path, r.h.opts.NodeID); err != nil {
			r.log().Warn("release flush lease", "err", err)
		}
	}
	r.h.forget(r)
	close(r.done)
}

func (r *room) closeAll(code int, reason string) {
	r.failCode, r.failReason = code, reason
	for c := range r.conns {
		c.kill(code, reason)
	}
}

// load reads the document from the store, seeding it from the file the
// first time, and takes the flush lease if it is free.
func (r *room) load() error {
	r.doc = yjs.NewDoc()
	if r.presence() {
		return nil
	}
	st, ctx := r.h.st, r.ctx()
	d, err := st.CollabLoad(ctx, r.key.project, r.key.path, -1)
	if errors.Is(err, store.ErrNotFound) {
		text, err := r.readFile()
		if err != nil {
			return err
		}
		seedDoc := yjs.NewDoc()
		seed, err := seedDoc.InsertText(TextName, 0, text, ServerClientID)
		if err != nil {
			return err
		}
		if seed == nil {
			seed = []byte{0, 0}
		}
		if _, err := st.CollabSeed(ctx, r.key.project, r.key.path, seed, hashText(text), r.now()); err != nil {
			return err
		}
		d, err = st.CollabLoad(ctx, r.key.project, r.key.path, -1)
		if err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if err := r.doc.ApplyUpdate(d.Snapshot); err != nil {
		return fmt.Errorf("stored snapshot: %w", err)
	}
	r.size = len(d.Snapshot)
	for _, u := range d.Updates {
		if err := r.doc.ApplyUpdate(u.Data); err != nil {
			return fmt.Errorf("stored update %d: %w", u.Seq, err)
		}
		r.size += len(u.Data)
	}
	r.seq = d.LastSeq
	r.fileHash, r.prevHash = d.FileHash, d.PrevFileHash
	r.lastCatchUp = r.now()
	r.lease()
	return r.err
}

// readFile reads the room's file as text.
func (r *room) readFile() (string, error) {
	p, err := r.h.files.Project(r.key.project)
	if err != nil {
		if errors.Is(err, workspace.ErrNotExist) {
			return "", &loadError{CloseFileDeleted, "file deleted"}
		}
		return "", err
	}
	defer p.Close()
	b, err := p.ReadFile(r.key.path, r.h.opts.MaxFileBytes)
	switch {
	case errors.Is(err, workspace.ErrNotExist):
		return "", &loadError{CloseFileDeleted, "file deleted"}
	case errors.Is(err, workspace.ErrTooLarge):
		return "", &loadError{CloseTooBig, "file too large for live editing"}
	case errors.Is(err, workspace.ErrIsDir), errors.Is(err, workspace.ErrBadPath):
		return "", &loadError{CloseFileDeleted, "not a file"}
	case err != nil:
		return "", err
	}
	if !utf8.Valid(b) {
		return "", &loadError{CloseNotText, "not a UTF-8 text file"}
	}
	return string(b), nil
}

func (r *room) statFile() (fileStat, error) { return statOf(r.h.files, r.key.project, r.key.path) }

// statOf stats a project file (safe from any goroutine).
func statOf(files *workspace.Files, project, path string) (fileStat, error) {
	p, err := files.Project(project)
	if err != nil {
		return fileStat{}, err
	}
	defer p.Close()
	fi, err := p.Stat(path)
	if err != nil {
		return fileStat{}, err
	}
	s := fileStat{size: fi.Size(), mtime: fi.ModTime()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.ino = uint64(sys.Ino)
	}
	return s, nil
}

// handle processes one event; true means the room stops.
func (r *room) handle(ev event) bool {
	switch ev.kind {
	case evJoin:
		r.err = r.commit()
		c := ev.conn
		r.conns[c] = struct{}{}
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
	case evStop: // the last client left (acquire waits for a stopping room), or shutdown
		if ev.code != CloseNormal {
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
		if r.err = r.commit(); r.err != nil {
			return
		}
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

// remote handles a message relayed from another node.
func (r *room) remote(data []byte) {
	kind, node, seq, payload, err := decodeBus(data)
	if err != nil || node == r.h.opts.NodeID {
		return
	}
	switch kind {
	case busUpdate:
		if r.presence() || seq <= r.seq {
			return
		}
		if r.err = r.commit(); r.err != nil {
			return
		}
		if seq != r.seq+1 {
			r.err = r.catchUp()
			return
		}
		u, err := r.doc.ApplyUpdateEmit(payload)
		if err != nil {
			r.err = r.catchUp()
			return
		}
		r.seq = seq
		if u != nil {
			r.size += len(u)
			r.broadcast(protocol.EncodeUpdate(u))
			r.markDirty()
		}
	case busAwareness:
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
	case busQuery:
		if states := r.aw.States(); len(states) > 0 {
			r.h.bus.publish(r.ctx(), r.channel, encodeBus(busAwareness, r.h.opts.NodeID, 0, protocol.EncodeAwarenessUpdate(states)), r.h.log)
		}
	}
}

// tick renews the lease, watches the file, expires silent awareness states
// and, with Redis, catches up with the store now and then.
func (r *room) tick() {
	now := r.now()
	var gone []uint64
	for id, t := range r.seen {
		if now.Sub(t) > r.h.opts.AwarenessTTL {
			gone = append(gone, id)
			delete(r.seen, id)
		}
	}
	r.awarenessOut(r.aw.Remove(gone), false)
	r.agentExpire(now)
	if r.presence() {
		return
	}
	if r.err = r.commit(); r.err != nil {
		return
	}
	if r.h.bus != nil && now.Sub(r.lastCatchUp) >= r.h.opts.CatchUpEvery {
		if r.err = r.catchUp(); r.err != nil {
			return
		}
	}
	r.lease()
	if r.leader && r.err == nil {
		r.checkFile(false)
	}
}

// lease takes or renews the flush lease; a node that gets it reconciles
// the file with the document.
func (r *room) lease() {
	now := r.now()
	if r.leader && now.Before(r.leaseUntil.Add(-r.h.opts.LeaseTTL/2)) {
		return // renewed recently enough
	}
	until := now.Add(r.h.opts.LeaseTTL)
	ok, err := r.h.st.CollabLease(r.ctx(), r.key.project, r.key.path, r.h.opts.NodeID, now, until)
	if err != nil {
		r.log().Warn("renew flush lease", "err", err)
		return
	}
	if ok {
		r.leaseUntil = until
	}
	switch {
	case ok && !r.leader:
		r.leader = true
		r.takeOver()
	case !ok && r.leader:
		r.leader = false
		r.base = nil
	}
}

// takeOver reconciles the file with the document when this node starts
// writing it: a file that holds the document's text (or one the document
// wrote before) is the document's; anything else was changed while nobody
// watched, and becomes an edit.
func (r *room) takeOver() {
	if r.err = r.catchUp(); r.err != nil {
		return
	}
	text, err := r.readFile()
	if err != nil {
		r.err = err
		return
	}
	r.stat, _ = r.statFile()
	r.disk = text
	cur := r.doc.Text(TextName)
	if text != cur {
		if h := hashText(text); h != r.fileHash && h != r.prevHash {
			u, err := r.doc.ReplaceText(TextName, text, randomClientID())
			if err != nil {
				r.err = err
				return
			}
			r.integrated(u, nil)
			if r.err = r.commit(); r.err != nil {
				return
			}
		}
	}
	r.base = r.clone()
	if text != r.doc.Text(TextName) {
		// the file is behind the document (its last writer stopped before
		// writing): write it now, so that the base matches the disk
		r.dirty = true
		r.flush()
	}
}

// checkFile takes a change of the file made outside the document (leader
// only). force reads the file even if its size, mtime and inode look the same.
func (r *room) checkFile(force bool) {
	if !r.leader || r.presence() {
		return
	}
	if r.flushing { // our own write is in flight: look once it is done
		r.recheck = r.recheck || force
		return
	}
	s, err := r.statFile()
	if errors.Is(err, workspace.ErrNotExist) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, workspace.ErrBadPath) {
		r.err = &loadError{CloseFileDeleted, "file deleted"}
		return
	}
	if err != nil {
		r.log().Warn("stat file", "err", err)
		return
	}
	if !force && s == r.stat {
		return
	}
	text, err := r.readFile()
	if err != nil {
		var le *loadError
		if errors.As(err, &le) {
			r.err = err
		} else {
			r.log().Warn("read file", "err", err)
		}
		return
	}
	r.stat = s
	if text == r.disk {
		return
	}
	r.external(text)
}

// external merges a new file text into the document: the edit is made
// against the base document (the text last on disk), so changes typed
// since the last write survive next to it.
func (r *room) external(text string) {
	if text == r.doc.Text(TextName) {
		// the document's own text (e.g. a client saved it through the
		// files API): nothing to merge, and it is the new base
		r.disk = text
		r.base = r.clone()
		return
	}
	id := randomClientID()
	var u []byte
	var err error
	if r.base != nil {
		var bu []byte
		if bu, err = r.base.ReplaceText(TextName, text, id); err == nil && bu != nil {
			u, err = r.doc.ApplyUpdateEmit(bu)
		}
	} else {
		u, err = r.doc.ReplaceText(TextName, text, id)
	}
	if err != nil {
		r.err = err
		return
	}
	r.disk = text
	r.integrated(u, nil)
	r.err = r.commit()
}

func (r *room) clone() *yjs.Doc {
	d := yjs.NewDoc()
	if st, err := r.doc.EncodeStateAsUpdate(nil); err == nil {
		d.ApplyUpdate(st)
	}
	return d
}

// markDirty schedules writing the file.
func (r *room) markDirty() {
	if r.presence() {
		return
	}
	now := r.now()
	if !r.dirty {
		r.dirty, r.dirtySince = true, now
	}
	wait := r.h.opts.FlushDelay
	if left := r.h.opts.FlushMaxDelay - now.Sub(r.dirtySince); left < wait {
		wait = max(left, 0)
	}
	if r.flushTimer != nil {
		r.flushTimer.Stop()
	}
	r.flushTimer = time.NewTimer(wait)
}

// requestFlush has the file written now; done runs once it holds the
// document's current text (or the write failed).
func (r *room) requestFlush(done func()) {
	r.waitNext = append(r.waitNext, done)
	r.dirty = true
	if !r.flushing {
		r.flush()
	}
}

// flush starts writing the document's text to its file (leader only),
// first taking any change made to the file since it was last seen. The
// write (temporary file, fsync, rename) runs on its own goroutine so a slow
// disk does not hold up the room; flushed takes its result.
func (r *room) flush() {
	if r.flushTimer != nil {
		r.flushTimer.Stop()
		r.flushTimer = nil
	}
	if r.flushing {
		return // flushed starts the next write if needed
	}
	if !r.leader || r.presence() || r.err != nil || !r.dirty {
		r.notify(&r.waitNext)
		return
	}
	if r.err = r.commit(); r.err != nil { // the file holds logged updates only
		r.notify(&r.waitNext)
		return
	}
	r.checkFile(false)
	if r.err != nil {
		r.notify(&r.waitNext)
		return
	}
	r.dirty = false
	text := r.doc.Text(TextName)
	if text == r.disk {
		r.notify(&r.waitNext)
		return
	}
	h := hashText(text)
	if err := r.h.st.CollabFileWritten(r.ctx(), r.key.project, r.key.path, h); err != nil {
		r.log().Warn("record file hash", "err", err)
		r.notify(&r.waitNext)
		r.markDirty()
		return
	}
	r.prevHash, r.fileHash = r.fileHash, h
	r.flushing = true
	r.flushBase = r.clone()
	r.waitCur, r.waitNext = r.waitNext, nil
	files, project, path, out := r.h.files, r.key.project, r.key.path, r.flushDone
	go func() {
		err := files.WriteFile(project, path, []byte(text))
		var st fileStat
		if err == nil {
			st, _ = statOf(files, project, path)
		}
		out <- flushResult{text: text, stat: st, err: err}
	}()
}

// flushed takes the result of a write.
func (r *room) flushed(res flushResult) {
	r.flushing = false
	base := r.flushBase
	r.flushBase = nil
	switch {
	case errors.Is(res.err, workspace.ErrNotExist):
		r.err = &loadError{CloseFileDeleted, "file deleted"}
	case res.err != nil:
		r.log().Warn("write file", "err", res.err)
		r.markDirty()
	default:
		r.disk, r.stat, r.base = res.text, res.stat, base
		if r.h.opts.OnFlush != nil {
			r.h.opts.OnFlush(r.key.project, r.key.path, res.text)
		}
	}
	r.notify(&r.waitCur)
	if r.recheck && r.err == nil {
		r.recheck = false
		r.checkFile(true)
	}
	if len(r.waitNext) > 0 {
		r.flush()
	}
}

func (r *room) notify(waiters *[]func()) {
	for _, w := range *waiters {
		w()
	}
	*waiters = nil
}

// finishFlushes waits for the write in flight and writes what is left
// (the room is stopping).
func (r *room) finishFlushes() {
	for attempts := 0; attempts < 3; {
		if r.flushing {
			r.flushed(<-r.flushDone)
			continue
		}
		if !r.dirty || !r.leader || r.err != nil {
			break
		}
		attempts++
		r.flush()
		if r.flushTimer != nil {
			r.flushTimer.Stop()
			r.flushTimer = nil
		}
	}
	r.notify(&r.waitNext)
}
