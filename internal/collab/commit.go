package collab

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"ecode/internal/store"
	"ecode/internal/yjs/protocol"
)

// pendingUpdate is an integrated update waiting to be logged.
type pendingUpdate struct {
	data []byte // the update, as logged
	msg  []byte // ... framed as a sync update for clients
	from *conn  // the client that sent it; nil for the server's own edits
	at   time.Time
}

// appendResult is the outcome of a write of the log (startAppend).
type appendResult struct {
	batch []pendingUpdate
	first int64 // the sequence number of batch[0]
	err   error
}

// integrated records an update that changed the document, sent by from
// (nil for the server's own edits). The other editors get it now (or at
// the end of the broadcast window, see toEditors); it is logged next, then
// sent to everyone else.
//
// Editors need not wait for the log: an editor's provider hands back
// whatever the server lacks when it reconnects (sync step 2), and the
// server takes it, so an update an editor saw survives the node dying
// before logging it, as long as that editor (or the sender) comes back.
// Everything that acknowledges an update waits for the log: the sender's
// echo, viewers (the server drops their updates, so they cannot give
// anything back), other nodes, clients joining (their sync step 1 commits
// first), Flushed and the file.
func (r *room) integrated(u []byte, from *conn) {
	if u == nil {
		return
	}
	if len(r.pending) == 0 {
		r.pendingSince = time.Now()
	}
	p := pendingUpdate{data: u, msg: protocol.EncodeUpdate(u), from: from, at: r.now()}
	r.pending = append(r.pending, p)
	r.integratedN++
	r.toEditors(p)
	r.size += len(u)
	r.markDirty()
}

// scheduleAppend starts writing the pending updates when the batch is
// full or its first update has waited logDelay, and otherwise arms the
// log timer for when it will have: a transaction costs far more than one
// more row in it, so under load many updates share one (group commit). A
// write in flight defers it (appended calls it again).
func (r *room) scheduleAppend() {
	if r.appending || len(r.pending) == 0 {
		return
	}
	wait := r.logDelay() - time.Since(r.pendingSince)
	if wait <= 0 || len(r.pending) >= r.h.opts.LogBatch {
		r.startAppend()
		return
	}
	if r.logArmed {
		return
	}
	arm(&r.logTimer, wait)
	r.logArmed = true
}

// arm starts the timer *t for d, making it on first use (a room's timers
// are made once and re-armed).
func arm(t **time.Timer, d time.Duration) {
	if *t == nil {
		*t = time.NewTimer(d)
		return
	}
	(*t).Reset(d)
}

// logDelay is how long the first pending update may wait for the log:
// Options.EditorsLogDelay when no one but its sender waits for it (no
// viewer, no other node with the room open; see Options),
// Options.LogDelay otherwise. A viewer joining commits the log first, so
// it never waits for the longer window; when another node opens the room,
// the room's loop finds the shorter window passed after the event and
// logs what is pending (scheduleAppend; at worst, pending updates that
// came in less than LogDelay before wait for the timer already armed).
func (r *room) logDelay() time.Duration {
	if r.viewers == 0 && !r.publishing() {
		return r.h.opts.EditorsLogDelay
	}
	return r.h.opts.LogDelay
}

// startAppend logs the pending updates on the room's log writer
// (appender), so that the room goes on taking updates (and relaying them
// to editors) while the store writes; what comes in meanwhile is logged by
// the next write, in one transaction (group commit). appended takes the
// result.
func (r *room) startAppend() {
	if r.appending || len(r.pending) == 0 {
		return
	}
	if r.logArmed {
		r.logTimer.Stop()
		r.logArmed = false
	}
	batch := r.pending
	r.pending = nil
	r.appending = true
	r.appendJobs <- appendJob{batch: batch, now: r.now()}
}

// appendJob is a batch of updates for the log writer.
type appendJob struct {
	batch []pendingUpdate
	now   time.Time
}

// appender writes the batches of jobs to the log, one at a time, until
// jobs is closed. One long-lived goroutine rather than one per batch: a
// write goes deep into the database driver, and a fresh goroutine's stack
// would be grown (copied) again for every batch.
func (r *room) appender(jobs <-chan appendJob) {
	st, ctx, project, path, out := r.h.st, r.ctx(), r.key.project, r.key.path, r.appendDone
	var data [][]byte
	for job := range jobs {
		// The room readied the editors' writers just before: let them
		// send first, the log write is not on their way.
		runtime.Gosched()
		data = data[:0]
		for _, p := range job.batch {
			data = append(data, p.data)
		}
		first, err := st.CollabAppend(ctx, project, path, data, job.now)
		clear(data)
		out <- appendResult{batch: job.batch, first: first, err: err}
	}
}

// commit logs every integrated update before returning: it waits for the
// write in flight, then writes the rest.
func (r *room) commit() error {
	if r.appending {
		if err := r.appended(<-r.appendDone); err != nil {
			return err
		}
	}
	if len(r.pending) == 0 {
		return nil
	}
	r.startAppend()
	return r.appended(<-r.appendDone)
}

// appended takes the result of a write of the log: the updates go to the
// clients that have not got them yet (their senders and the viewers, see
// integrated) and to the other nodes that have the room open.
func (r *room) appended(res appendResult) error {
	r.appending = false
	if res.err != nil {
		return res.err
	}
	if f := r.h.opts.OnLogged; f != nil && len(res.batch) > 0 {
		f(len(res.batch), r.now().Sub(res.batch[0].at))
	}
	gap := res.first != r.seq+1
	// Whether to publish is decided now that the updates are logged: a
	// node that opened the room before this point has them published, one
	// that opens it after reads them (see room_peers.go).
	publish := r.publishing()
	for i, p := range res.batch {
		if publish {
			r.h.published(pubUpdate)
			r.h.bus.publish(r.ctx(), r.channel, encodeBus(busUpdate, r.h.opts.NodeID, res.first+int64(i), p.data), r.h.log)
		}
		for c := range r.conns {
			if c == p.from || !c.cl.CanWrite {
				c.enqueue(p.msg)
			}
		}
	}
	r.loggedN += int64(len(res.batch))
	r.releaseAwareness()
	r.sinceCompact += len(res.batch)
	if gap {
		return r.catchUp() // another node logged updates in between
	}
	r.seq = res.first + int64(len(res.batch)) - 1
	if r.sinceCompact >= r.h.opts.CompactEvery {
		r.compact()
	}
	return nil
}

// compact replaces the log up to r.seq by a snapshot of the document. The
// snapshot may hold pending updates too: they are logged later anyway, and
// applying an update twice changes nothing.
func (r *room) compact() {
	snap, err := r.doc.EncodeStateAsUpdate(nil)
	if err != nil {
		r.log().Warn("encode snapshot", "err", err)
		return
	}
	if err := r.h.st.CollabCompact(r.ctx(), r.key.project, r.key.path, snap, r.seq, r.now()); err != nil {
		r.log().Warn("compact document", "err", err)
		return
	}
	r.sinceCompact = 0
	r.size = len(snap)
}

// catchUp applies the updates other nodes logged that this node missed.
func (r *room) catchUp() error {
	if r.presence() {
		return nil
	}
	parked := r.doc.PendingStructs()
	if err := r.catchUpFrom(r.seq); err != nil {
		return err
	}
	return r.healGap(parked)
}

// healGap reads the whole log again when applying logged updates left more
// structs waiting for missing ones than parked: a logged update depends on
// updates logged before it only, so this node skipped one while counting
// it as applied (seq), and would otherwise never ask for it again: every
// later update depending on it would wait forever, for this node's clients
// too.
func (r *room) healGap(parked int) error {
	if r.doc.PendingStructs() <= parked {
		return nil
	}
	r.log().Warn("logged updates wait for missing ones; reloading the whole log", "seq", r.seq)
	return r.catchUpFrom(-1)
}

// catchUpFrom applies the snapshot and updates logged after seq after.
func (r *room) catchUpFrom(after int64) error {
	r.lastCatchUp = r.now()
	d, err := r.h.st.CollabLoad(r.ctx(), r.key.project, r.key.path, after)
	if errors.Is(err, store.ErrNotFound) {
		return &loadError{CloseFileDeleted, "document removed"}
	}
	if err != nil {
		return err
	}
	r.fileHash, r.prevHash = d.FileHash, d.PrevFileHash
	apply := func(b []byte) error {
		u, err := r.doc.ApplyUpdateEmit(b)
		if err != nil {
			return err
		}
		if u != nil {
			r.size += len(u)
			r.broadcast(protocol.EncodeUpdate(u))
			r.markDirty()
		}
		return nil
	}
	if d.Snapshot != nil {
		if err := apply(d.Snapshot); err != nil {
			return fmt.Errorf("stored snapshot: %w", err)
		}
	}
	for _, u := range d.Updates {
		if err := apply(u.Data); err != nil {
			return fmt.Errorf("stored update %d: %w", u.Seq, err)
		}
	}
	if d.LastSeq > r.seq {
		r.seq = d.LastSeq
	}
	return nil
}
