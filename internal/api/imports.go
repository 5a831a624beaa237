package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"ecode/internal/imports"
	"ecode/internal/store"
)

// importRoutes bring projects in (DESIGN.md section 5). An import is its
// user's alone: anyone else gets 404.
func (s *Server) importRoutes() []route {
	return []route{
		{"POST /api/imports", Signed, s.createImport},
		{"GET /api/imports", Signed, s.listImports},
		{"GET /api/imports/{id}", Signed, s.getImport},
		{"GET /api/imports/{id}/events", Signed, s.importEvents},
		{"POST /api/imports/{id}/cancel", Signed, s.cancelImport},
	}
}

type newImportRequest struct {
	Source string `json:"source"`
	URL    string `json:"url"`
	Token  string `json:"token"`
	Ref    string `json:"ref"`
	Name   string `json:"name"`
}

func (q *newImportRequest) validate() map[string]string { return nil } // the service checks the fields

// importJSON is an import as the API shows it.
func importJSON(x store.Import) map[string]any {
	out := map[string]any{"id": x.ID, "status": x.Status, "source": x.Source, "name": x.Name,
		"progress": json.RawMessage(x.Progress), "created_at": x.CreatedAt, "updated_at": x.UpdatedAt}
	if x.Status == store.ImportSucceeded {
		out["project_id"] = x.ProjectID
	}
	if x.Report != "" {
		out["report"] = json.RawMessage(x.Report)
	}
	if x.Error != "" {
		out["error"] = x.Error
	}
	return out
}

func (s *Server) createImport(w http.ResponseWriter, r *http.Request) error {
	var req imports.Request
	if r.Header.Get("Content-Type") == "application/json" || r.Header.Get("Content-Type") == "" {
		var q newImportRequest
		if err := decode(w, r, &q); err != nil {
			return err
		}
		req = imports.Request{Source: q.Source, URL: q.URL, Token: q.Token, Ref: q.Ref, Name: q.Name}
		if req.Source == imports.SourceZip {
			return errInvalid(map[string]string{"source": "a zip is uploaded as multipart form data with a file part"})
		}
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxImportBytes+1<<20)
		mr, err := r.MultipartReader()
		if err != nil {
			return errBadRequest("send JSON, or multipart form data with source and file")
		}
		fields := map[string]string{}
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return errBadRequest("the multipart body is damaged: " + err.Error())
			}
			if part.FormName() == "file" {
				req.Upload = part
				break // the file comes last; the fields before it are read
			}
			b, _ := io.ReadAll(io.LimitReader(part, 4096))
			fields[part.FormName()] = string(b)
		}
		if req.Upload == nil {
			return errInvalid(map[string]string{"file": "missing: upload the file as the last part"})
		}
		req.Source, req.Name = fields["source"], fields["name"]
		if req.Source == "" {
			req.Source = imports.SourceZip
		}
		if req.Source != imports.SourceZip && req.Source != imports.SourceBolt && req.Source != imports.SourceFigma {
			return errInvalid(map[string]string{"source": "an upload is a zip, bolt (an exported zip) or figma (the file's JSON)"})
		}
	}
	x, err := s.imports.Start(r.Context(), principal(r).User.ID, req)
	if err != nil {
		return importErr(err)
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"id": x.ID, "status": x.Status})
	return nil
}

func importErr(err error) error {
	var ue *imports.UserError
	if errors.As(err, &ue) {
		return errBadRequest(ue.Msg)
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errTooLarge(fmt.Sprintf("the upload is larger than %d bytes", mbe.Limit))
	}
	return err
}

// ownImport loads the caller's import {id}; 404 for anyone else's.
func (s *Server) ownImport(r *http.Request) (store.Import, error) {
	x, err := s.imports.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && x.UserID != principal(r).User.ID) {
		return store.Import{}, errNotFound("import")
	}
	return x, err
}

func (s *Server) listImports(w http.ResponseWriter, r *http.Request) error {
	xs, err := s.store.UserImports(r.Context(), principal(r).User.ID, 50)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(xs))
	for i, x := range xs {
		out[i] = importJSON(x)
	}
	writeJSON(w, http.StatusOK, map[string]any{"imports": out})
	return nil
}

func (s *Server) getImport(w http.ResponseWriter, r *http.Request) error {
	x, err := s.ownImport(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, importJSON(x))
	return nil
}

func (s *Server) cancelImport(w http.ResponseWriter, r *http.Request) error {
	x, err := s.ownImport(r)
	if err != nil {
		return err
	}
	if err := s.imports.Cancel(r.Context(), x); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// importEvents streams the import's record (event "import") on every
// change until it ends.
func (s *Server) importEvents(w http.ResponseWriter, r *http.Request) error {
	x, err := s.ownImport(r)
	if err != nil {
		return err
	}
	changed, stop := s.imports.Subscribe(x.ID)
	defer stop()
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		x, err = s.imports.Get(r.Context(), x.ID)
		if err != nil {
			return nil
		}
		fmt.Fprintf(w, "event: import\ndata: %s\n\n", mustJSON(importJSON(x)))
		if err := rc.Flush(); err != nil {
			return nil
		}
		if x.Status != store.ImportQueued && x.Status != store.ImportRunning {
			return nil
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-changed:
		case <-ping.C:
			fmt.Fprint(w, ": ping\n\n")
		}
	}
}
