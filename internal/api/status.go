package api

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"ecode/internal/auth"
	"ecode/internal/store"
)

type componentJSON struct {
	Name   string `json:"name"`
	Status string `json:"status"`           // "ok" or "failing"
	Detail string `json:"detail,omitempty"` // admins and scrapers only
}

type incidentJSON struct {
	ID         string     `json:"id"`
	Title      string     `json:"title"`
	Body       string     `json:"body"`
	At         time.Time  `json:"at"`
	ResolvedAt *time.Time `json:"resolved_at"`
}

// statusJSON answers the public status page: the health of each component
// (the readiness checks: database, sandbox, data disk, and whatever else
// the server registers, such as Redis or the job queue) and the incidents
// open now or posted in the last 14 days. Anyone may read it.
func (s *Server) statusJSON(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	detail := s.mayReadDetail(r)
	comps := make([]componentJSON, 0, len(s.opts.ReadyChecks))
	overall := "ok"
	for name, check := range s.opts.ReadyChecks {
		c := componentJSON{Name: name, Status: "ok"}
		if err := check(ctx); err != nil {
			c.Status, overall = "failing", "degraded"
			if detail {
				c.Detail = err.Error()
			}
		}
		comps = append(comps, c)
	}
	sort.Slice(comps, func(i, j int) bool { return comps[i].Name < comps[j].Name })
	ins, err := s.store.ListIncidents(r.Context(), s.now().Add(-14*24*time.Hour), 50)
	if err != nil {
		return err
	}
	out := make([]incidentJSON, 0, len(ins))
	for _, in := range ins {
		if in.ResolvedAt == nil {
			overall = "degraded"
		}
		out = append(out, incidentJSON{ID: in.ID, Title: in.Title, Body: in.Body, At: in.CreatedAt, ResolvedAt: in.ResolvedAt})
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"status": overall, "components": comps, "incidents": out, "checked_at": s.now()})
	return nil
}

type incidentRequest struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

func (q *incidentRequest) validate() map[string]string {
	q.Title, q.Body = strings.TrimSpace(q.Title), strings.TrimSpace(q.Body)
	switch {
	case q.Title == "" || len(q.Title) > 200:
		return map[string]string{"title": "1 to 200 characters"}
	case len(q.Body) > 4000:
		return map[string]string{"body": "at most 4000 characters"}
	}
	return nil
}

// postIncident posts an incident on the status page.
func (s *Server) postIncident(w http.ResponseWriter, r *http.Request) error {
	var q incidentRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	in := store.Incident{ID: auth.NewID(), Title: q.Title, Body: q.Body, CreatedBy: principal(r).User.ID, CreatedAt: s.now()}
	if err := s.store.AddIncident(r.Context(), in); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, incidentJSON{ID: in.ID, Title: in.Title, Body: in.Body, At: in.CreatedAt})
	return nil
}

// resolveIncident marks an incident resolved.
func (s *Server) resolveIncident(w http.ResponseWriter, r *http.Request) error {
	err := s.store.ResolveIncident(r.Context(), r.PathValue("iid"), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("open incident")
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
