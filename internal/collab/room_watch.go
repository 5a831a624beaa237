// Watching the file for changes made outside the document and merging them in.

package collab

import (
	"errors"
	"io/fs"

	"ecode/internal/workspace"
	"ecode/internal/yjs"
)

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
	if r.lateWrite(text) {
		return
	}
	r.external(text)
}

// lateWrite reports whether text is the write the previous flush-lease
// holder was making when this node took over (see takeOver), landed only
// now: the file is then behind the document, which is written again.
func (r *room) lateWrite(text string) bool {
	if r.inherited == "" || hashText(text) != r.inherited {
		return false
	}
	r.inherited = ""
	r.log().Info("the previous writer's last write landed late: writing the document again")
	r.disk = text
	r.markDirty()
	return true
}

// external merges a new file text into the document: the edit is made
// against the base document (the text last on disk), so changes typed
// since the last write survive next to it.
func (r *room) external(text string) {
	if text == r.doc.Text(TextName) {
		// the document's own text (e.g. a client saved it through the
		// files API): nothing to merge, and it is the new base
		r.disk = text
		r.base = r.state()
		return
	}
	id := randomClientID()
	var u []byte
	var err error
	if base := r.baseDoc(); base != nil {
		var bu []byte
		if bu, err = base.ReplaceText(TextName, text, id); err == nil && bu != nil {
			u, err = r.doc.ApplyUpdateEmit(bu)
		}
		if err == nil {
			r.base, err = base.EncodeStateAsUpdate(nil)
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

// state is the document encoded as one update, to keep as the base. The
// base is kept encoded rather than as a copy of the document: it is taken
// at every write of the file but needed only when the file changes outside
// the document or the agent edits (baseDoc), and decoding it then costs
// what copying it at every write would.
func (r *room) state() []byte {
	st, err := r.doc.EncodeStateAsUpdate(nil)
	if err != nil {
		return nil // no base: changes are merged against the document itself
	}
	return st
}

// baseDoc is a new document holding the base (nil without one).
func (r *room) baseDoc() *yjs.Doc {
	if r.base == nil {
		return nil
	}
	d := yjs.NewDoc()
	if err := d.ApplyUpdate(r.base); err != nil {
		return nil
	}
	return d
}
