// Writing the document to its file: scheduling, requesting and finishing flushes.

package collab

import (
	"errors"
	"time"

	"ecode/internal/workspace"
)

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
	if r.flushTimer != nil { // re-armed, not replaced: this runs for every update
		r.flushTimer.Reset(wait)
		return
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
	r.flushBase = r.state()
	r.waitCur, r.waitNext = r.waitNext, nil
	files, project, path, out, before := r.h.files, r.key.project, r.key.path, r.flushDone, r.h.opts.BeforeWrite
	go func() {
		if before != nil {
			before(project, path, text)
		}
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
	switch {
	case len(r.waitNext) > 0:
		r.flush()
	case r.dirty && r.flushTimer == nil && r.err == nil:
		// Typing during the write whose timer fired before it ended
		// (flush returned early): without this the file would miss it
		// until the next edit.
		r.markDirty()
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
