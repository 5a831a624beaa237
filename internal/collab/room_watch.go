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
