// The room's periodic tick, the flush lease, and taking over the file on getting it.

package collab

// tick renews the lease, watches the file, expires silent awareness states
// and, with Redis, announces the room, drops silent peers and catches up
// with the store now and then.
func (r *room) tick() {
	now := r.now()
	r.tickPeers()
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
//
// The previous holder may still be writing the text whose hash it recorded
// last (its lease ran out while it was paused, or its disk is slow): that
// write can land after this node's own, with an older text. So that hash
// is kept (inherited) until the file is seen holding it, and a file that
// turns up with it is the old write landing, not a change made outside:
// the document's text is written over it (lateWrite).
func (r *room) takeOver() {
	if r.err = r.catchUp(); r.err != nil {
		return
	}
	text, err := r.readFile()
	if err != nil {
		r.err = err
		return
	}
	r.inherited = r.fileHash
	if hashText(text) == r.inherited {
		r.inherited = "" // that write is done
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
	r.base = r.state()
	if text != r.doc.Text(TextName) {
		// the file is behind the document (its last writer stopped before
		// writing): write it now, so that the base matches the disk
		r.dirty = true
		r.flush()
	}
}
