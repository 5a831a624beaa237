// Loading a room's document from the store (seeding it from the file the first time) and reading and stating the file.

package collab

import (
	"errors"
	"fmt"
	"syscall"
	"unicode/utf8"

	"ecode/internal/store"
	"ecode/internal/workspace"
	"ecode/internal/yjs"
)

// loadError carries the close code for a document that cannot be opened.
type loadError struct {
	code   int
	reason string
}

func (e *loadError) Error() string { return e.reason }

// load reads the document from the store, seeding it from the file the
// first time, and takes the flush lease if it is free.
func (r *room) load() error {
	r.doc = yjs.NewDoc()
	r.behind.Store(false) // what the log holds now is read below
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
