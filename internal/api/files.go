package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"

	"ecode/internal/workspace"
)

// fileError maps workspace errors to responses.
func fileError(err error) error {
	switch {
	case errors.Is(err, workspace.ErrBadPath):
		return errBadRequest("invalid path: it must stay inside the project")
	case errors.Is(err, workspace.ErrNotExist):
		return errNotFound("file")
	case errors.Is(err, workspace.ErrExists):
		return errConflict(workspace.ErrExists.Error())
	case errors.Is(err, workspace.ErrIsDir):
		return errBadRequest("that path is a folder")
	case errors.Is(err, workspace.ErrTooLarge):
		return errTooLarge("file too large")
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return &Error{Status: http.StatusInsufficientStorage, Code: "disk_full", Message: "the project's disk is full: delete files to make room", Err: err}
	}
	return err
}

// withFiles opens the route's project files for fn.
func (s *Server) withFiles(r *http.Request, fn func(*workspace.Project) error) error {
	p, err := s.files.Project(project(r).ID)
	if err != nil {
		return fileError(err)
	}
	defer p.Close()
	return fileError(fn(p))
}

// changed tells open editors (the collaboration documents) that paths
// changed on disk, and marks the project as changed.
func (s *Server) changed(r *http.Request, paths ...string) {
	for _, p := range paths {
		s.collab.FileChanged(r.Context(), project(r).ID, p)
	}
	s.touch(r)
}

// flush writes what editors typed into the files before an operation that
// reads or moves them.
func (s *Server) flush(r *http.Request, path string) {
	if err := s.collab.Flush(r.Context(), project(r).ID, path); err != nil {
		s.log.Warn("flush collaboration documents", "project_id", project(r).ID, "path", path, "err", err)
	}
}

// touch marks the project as changed.
func (s *Server) touch(r *http.Request) {
	if err := s.store.TouchProject(r.Context(), project(r).ID, s.now()); err != nil {
		s.log.Warn("touch project", "project_id", project(r).ID, "err", err)
	}
}

func (s *Server) fileTree(w http.ResponseWriter, r *http.Request) error {
	return s.withFiles(r, func(p *workspace.Project) error {
		tree, err := p.Tree()
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, tree)
		return nil
	})
}

// readFile serves raw bytes. User files must never run as pages of the IDE's
// origin, so every answer is sandboxed by its Content-Security-Policy.
func (s *Server) readFile(w http.ResponseWriter, r *http.Request) error {
	return s.withFiles(r, func(p *workspace.Project) error {
		if r.Method != http.MethodGet || conditional(r) {
			f, info, err := p.Open(r.PathValue("path"))
			if err != nil {
				return err
			}
			defer f.Close()
			serveFile(w, r, f, info.Name(), info.Size(), info.ModTime())
			return nil
		}
		// A small file, asked whole: read at once (open, stat, read, close)
		// into a pooled buffer and sent with its headers (ServeContent
		// would seek twice to size it, then send the headers and the body
		// apart).
		buf := s.fileBufs.Get().(*[]byte)
		defer s.fileBufs.Put(buf)
		f, err := p.ReadSmall(r.PathValue("path"), smallFile, *buf)
		if err != nil {
			return err
		}
		if f.File != nil { // large, or changed meanwhile
			defer f.File.Close()
			serveFile(w, r, f.File, f.Name, f.Size, f.ModTime)
			return nil
		}
		setFileHeaders(w.Header(), f.Name, f.Size, f.ModTime, true)
		w.WriteHeader(http.StatusOK)
		w.Write(f.Data)
		return nil
	})
}

// serveFile answers with f as net/http's rules say (ranges, conditional
// requests, HEAD) after setting the headers every file read carries.
func serveFile(w http.ResponseWriter, r *http.Request, f io.ReadSeeker, name string, size int64, mtime time.Time) {
	setFileHeaders(w.Header(), name, size, mtime, false)
	http.ServeContent(w, r, name, mtime, f)
}

// smallFile is the largest file readFile sends from memory.
const smallFile = 32 << 10

// newFileBuf is a buffer of the pool readFile reads small files into.
func newFileBuf() any {
	b := make([]byte, smallFile)
	return &b
}

// conditional reports whether r asks for a range or carries validators
// (then net/http's rules answer it).
func conditional(r *http.Request) bool {
	for _, k := range []string{"Range", "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since"} {
		if _, ok := r.Header[k]; ok {
			return true
		}
	}
	return false
}

// Headers of every file read, shared: never changed in place.
var fileCSP, noCache = []string{"default-src 'none'; sandbox"}, []string{"no-cache"}

// setFileHeaders sets the headers of a file read: its type, the sandbox
// policy, no-cache and its validator (ETag: size and modification time in
// hex); whole adds Last-Modified and Content-Length (ServeContent sets
// those itself). The values share one string and one array, each slice
// capped to its own element: two allocations for all of them.
func setFileHeaders(h http.Header, name string, size int64, mtime time.Time, whole bool) {
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	var b [96]byte
	v := append(b[:0], '"')
	v = strconv.AppendInt(v, size, 16)
	v = append(v, '-')
	v = strconv.AppendInt(v, mtime.UnixNano(), 16)
	v = append(v, '"')
	etag := len(v)
	if whole {
		v = mtime.UTC().AppendFormat(v, http.TimeFormat)
	}
	modified := len(v)
	if whole {
		v = strconv.AppendInt(v, size, 10)
	}
	all := string(v)
	vals := &[4]string{ct, all[:etag], all[etag:modified], all[modified:]}
	h["Content-Type"], h["Etag"] = vals[0:1:1], vals[1:2:2]
	h["Content-Security-Policy"], h["Cache-Control"] = fileCSP, noCache
	if whole {
		h["Last-Modified"], h["Content-Length"] = vals[2:3:3], vals[3:4:4]
	}
}

type fileInfoJSON struct {
	Path  string    `json:"path"`
	Size  int64     `json:"size"`
	MTime time.Time `json:"mtime"`
}

func (s *Server) writeFile(w http.ResponseWriter, r *http.Request) error {
	body := http.MaxBytesReader(w, r.Body, s.opts.MaxFileBytes+1)
	name := r.PathValue("path")
	return s.withFiles(r, func(p *workspace.Project) error {
		info, err := p.WriteFile(name, body, s.opts.MaxFileBytes)
		var mbe *http.MaxBytesError
		if errors.Is(err, workspace.ErrTooLarge) || errors.As(err, &mbe) {
			return errTooLarge(fmt.Sprintf("file larger than the limit of %d bytes", s.opts.MaxFileBytes))
		}
		if err != nil {
			return err
		}
		clean, _ := workspace.CleanPath(name)
		s.changed(r, clean)
		writeJSON(w, http.StatusOK, fileInfoJSON{Path: clean, Size: info.Size(), MTime: info.ModTime().UTC()})
		return nil
	})
}

func (s *Server) deleteFile(w http.ResponseWriter, r *http.Request) error {
	return s.withFiles(r, func(p *workspace.Project) error {
		if err := p.Remove(r.PathValue("path")); err != nil {
			return err
		}
		s.changed(r, r.PathValue("path"))
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

type pathRequest struct {
	Path string `json:"path"`
}

func (q *pathRequest) validate() map[string]string {
	c, err := workspace.CleanPath(q.Path)
	if err != nil || c == "" {
		return map[string]string{"path": "must be a relative path inside the project"}
	}
	q.Path = c
	return nil
}

func (s *Server) mkdir(w http.ResponseWriter, r *http.Request) error {
	var q pathRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	return s.withFiles(r, func(p *workspace.Project) error {
		if err := p.Mkdir(q.Path); err != nil {
			return err
		}
		s.touch(r)
		writeJSON(w, http.StatusCreated, map[string]string{"path": q.Path})
		return nil
	})
}

type moveRequest struct {
	From string `json:"from"`
	To   string `json:"to"`
}

func (q *moveRequest) validate() map[string]string {
	f := map[string]string{}
	var err error
	if q.From, err = workspace.CleanPath(q.From); err != nil || q.From == "" {
		f["from"] = "must be a relative path inside the project"
	}
	if q.To, err = workspace.CleanPath(q.To); err != nil || q.To == "" {
		f["to"] = "must be a relative path inside the project"
	}
	return f
}

func (s *Server) move(w http.ResponseWriter, r *http.Request) error {
	var q moveRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	s.flush(r, q.From)
	return s.withFiles(r, func(p *workspace.Project) error {
		if err := p.Move(q.From, q.To); err != nil {
			return err
		}
		s.changed(r, q.From, q.To)
		writeJSON(w, http.StatusOK, map[string]string{"path": q.To})
		return nil
	})
}

// upload streams a multipart body: an optional "dir" field, then parts named
// "files" whose file names are paths relative to dir. All or nothing.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxUploadBytes)
	mr, err := r.MultipartReader()
	if err != nil {
		return errBadRequest("expected a multipart/form-data body")
	}
	dir := ""
	next := func() (workspace.Upload, error) {
		for {
			part, err := mr.NextPart()
			if err != nil {
				return workspace.Upload{}, err // io.EOF ends the upload
			}
			switch part.FormName() {
			case "dir":
				b, err := io.ReadAll(io.LimitReader(part, 4097))
				if err != nil {
					return workspace.Upload{}, err
				}
				dir = string(b)
			case "files":
				name := uploadName(part.Header.Get("Content-Disposition"), part.FileName())
				if name == "" {
					return workspace.Upload{}, errBadRequest("every file part needs a file name")
				}
				return workspace.Upload{Path: path.Join(dir, name), Body: part}, nil
			default:
				return workspace.Upload{}, errBadRequest(fmt.Sprintf("unexpected form field %q", part.FormName()))
			}
		}
	}
	return s.withFiles(r, func(p *workspace.Project) error {
		done, err := p.WriteAll(next, s.opts.MaxFileBytes)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge(fmt.Sprintf("upload larger than the limit of %d bytes", s.opts.MaxUploadBytes))
		}
		if err != nil {
			return err
		}
		if len(done) == 0 {
			return errBadRequest("no files in the upload")
		}
		for _, f := range done {
			s.changed(r, f.Path)
		}
		writeJSON(w, http.StatusOK, map[string]any{"files": done})
		return nil
	})
}

// uploadName returns the part's file name with its folders. Go's
// Part.FileName keeps only the base name, so the raw header is read.
func uploadName(disposition, base string) string {
	_, params, err := mime.ParseMediaType(disposition)
	if err != nil {
		return base
	}
	if name := params["filename"]; name != "" {
		return strings.TrimPrefix(name, "/")
	}
	return base
}

func (s *Server) downloadZip(w http.ResponseWriter, r *http.Request) error {
	s.flush(r, "")
	return s.withFiles(r, func(p *workspace.Project) error {
		name := project(r).Name
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(name+".zip"))
		if err := p.Zip(w); err != nil {
			// Headers are gone; the client sees a truncated archive.
			s.log.Error("write zip", "project_id", project(r).ID, "err", err)
		}
		return nil
	})
}
