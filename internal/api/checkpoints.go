package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"ecode/internal/history"
	"ecode/internal/store"
	"ecode/internal/workspace"
)

// checkpointJSON is the public form of a checkpoint.
type checkpointJSON struct {
	ID            string          `json:"id"`
	Message       string          `json:"message"`
	Trigger       string          `json:"trigger"`
	CreatedBy     string          `json:"created_by"`
	CreatedByName string          `json:"created_by_name,omitempty"`
	ParentID      string          `json:"parent_id,omitempty"`
	CreatedAt     time.Time       `json:"created_at"`
	Metrics       json.RawMessage `json:"metrics"`
}

func (s *Server) checkpointJSON(r *http.Request, c store.Checkpoint, names map[string]string) checkpointJSON {
	name, ok := names[c.CreatedBy]
	if !ok && c.CreatedBy != "" {
		if u, err := s.store.UserByID(r.Context(), c.CreatedBy); err == nil {
			name = u.Name
		}
		names[c.CreatedBy] = name
	}
	return checkpointJSON{ID: c.ID, Message: c.Message, Trigger: c.Trigger, CreatedBy: c.CreatedBy, CreatedByName: name,
		ParentID: c.ParentID, CreatedAt: c.CreatedAt, Metrics: c.Metrics}
}

func checkpointError(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("checkpoint")
	}
	if errors.Is(err, workspace.ErrBadPath) {
		return errBadRequest("invalid path")
	}
	return err
}

func (s *Server) listCheckpoints(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.history.List(r.Context(), project(r).ID)
	if err != nil {
		return err
	}
	names := map[string]string{}
	out := make([]checkpointJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, s.checkpointJSON(r, c, names))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type checkpointRequest struct {
	Message string `json:"message"`
}

func (q *checkpointRequest) validate() map[string]string {
	q.Message = strings.TrimSpace(q.Message)
	if utf8.RuneCountInString(q.Message) > 500 {
		return map[string]string{"message": "must be at most 500 characters"}
	}
	if q.Message == "" {
		q.Message = "Checkpoint"
	}
	return nil
}

func (s *Server) createCheckpoint(w http.ResponseWriter, r *http.Request) error {
	var q checkpointRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	c, err := s.history.Create(r.Context(), project(r).ID, principal(r).User.ID, "user", q.Message)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.checkpointJSON(r, c, map[string]string{}))
	return nil
}

func (s *Server) checkpointDiff(w http.ResponseWriter, r *http.Request) error {
	against := r.URL.Query().Get("against")
	if against != "" && against != "previous" && against != "current" {
		return errInvalid(map[string]string{"against": "must be previous or current"})
	}
	d, err := s.history.Diff(r.Context(), project(r).ID, r.PathValue("cid"), against)
	if err != nil {
		return checkpointError(err)
	}
	files := make([]map[string]any, 0, len(d.Files))
	for _, f := range d.Files {
		files = append(files, map[string]any{"path": f.Path, "status": f.Status, "lines_added": f.LinesAdded,
			"lines_removed": f.LinesRemoved, "binary": f.Binary, "patch": f.Patch})
	}
	tables := make([]map[string]any, 0, len(d.Tables))
	for _, t := range d.Tables {
		tables = append(tables, map[string]any{"name": t.Table, "status": t.Status, "before": t.OldRows, "after": t.NewRows})
	}
	writeJSON(w, http.StatusOK, map[string]any{"files": files, "tables": tables})
	return nil
}

func (s *Server) checkpointTree(w http.ResponseWriter, r *http.Request) error {
	files, err := s.history.Files(r.Context(), project(r).ID, r.PathValue("cid"))
	if err != nil {
		return checkpointError(err)
	}
	writeJSON(w, http.StatusOK, files)
	return nil
}

func (s *Server) checkpointFile(w http.ResponseWriter, r *http.Request) error {
	b, err := s.history.ReadFile(r.Context(), project(r).ID, r.PathValue("cid"), r.PathValue("path"))
	if err != nil {
		return checkpointError(err)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.Write(b)
	return nil
}

type restoreRequest struct {
	Database *bool `json:"database,omitempty"`
}

func (q *restoreRequest) validate() map[string]string { return nil }

// restoreCheckpoint restores a checkpoint. A client that accepts
// text/event-stream gets Server-Sent Events instead of one JSON answer:
// "progress" events as the restore goes, then "result" (the JSON answer)
// or "error" ({"code","message"}).
func (s *Server) restoreCheckpoint(w http.ResponseWriter, r *http.Request) error {
	q := restoreRequest{}
	if r.ContentLength != 0 {
		if err := decode(w, r, &q); err != nil {
			return err
		}
	}
	withDB := q.Database == nil || *q.Database
	if wantsEventStream(r) {
		return s.restoreCheckpointStream(w, r, withDB)
	}
	res, err := s.history.Restore(r.Context(), project(r).ID, r.PathValue("cid"), principal(r).User.ID, withDB)
	if err != nil {
		return checkpointError(err)
	}
	s.touch(r)
	writeJSON(w, http.StatusOK, s.restoreJSON(r, res))
	return nil
}

func (s *Server) restoreJSON(r *http.Request, res history.RestoreResult) map[string]any {
	names := map[string]string{}
	out := map[string]any{
		"restored": s.checkpointJSON(r, res.Restored, names), "backup": s.checkpointJSON(r, res.Backup, names),
		"files_written": res.FilesWritten, "db_restored": res.DBRestored, "dependencies_changed": res.DependenciesChanged,
	}
	if res.DBError != "" { // the files were restored, the database was not: say why
		out["database_error"] = res.DBError
	}
	return out
}

func wantsEventStream(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			mt, _, _ := strings.Cut(part, ";")
			if strings.EqualFold(strings.TrimSpace(mt), "text/event-stream") {
				return true
			}
		}
	}
	return false
}

// restoreCheckpointStream is restoreCheckpoint answering with events. An
// unknown checkpoint is still a plain 404, before the stream starts.
func (s *Server) restoreCheckpointStream(w http.ResponseWriter, r *http.Request, withDB bool) error {
	if _, err := s.store.Checkpoint(r.Context(), project(r).ID, r.PathValue("cid")); err != nil {
		return checkpointError(err)
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(event string, v any) {
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, mustJSON(v))
		rc.Flush() // a client gone away ends the restore through the request's context
	}
	rc.Flush()
	res, err := s.history.RestoreWithProgress(r.Context(), project(r).ID, r.PathValue("cid"), principal(r).User.ID, withDB,
		func(p history.RestoreProgress) { send("progress", p) })
	if err != nil {
		_, body := s.errorBody(r, checkpointError(err))
		send("error", body)
		return nil
	}
	s.touch(r)
	send("result", s.restoreJSON(r, res))
	return nil
}

// forkCheckpoint makes a new project, owned by the caller, from a checkpoint.
func (s *Server) forkCheckpoint(w http.ResponseWriter, r *http.Request) error {
	var q renameRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	p, err := s.projects.Fork(r.Context(), project(r), r.PathValue("cid"), principal(r).User.ID, q.Name)
	if err != nil {
		return checkpointError(err)
	}
	writeJSON(w, http.StatusCreated, projectJSON(p))
	return nil
}
