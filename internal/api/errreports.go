package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"ecode/internal/errtrack"
	"ecode/internal/store"
)

// maxReportBytes caps a browser's error or timing report.
const maxReportBytes = 32 << 10

func errTooMany(msg string) *Error {
	return &Error{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: msg}
}

// reportAllowed applies the per-address rate limit of browser reports.
func (s *Server) reportAllowed(r *http.Request) error {
	if !s.errors.Allow(clientIP(r)) {
		return errTooMany("too many reports from this address; try again in a minute")
	}
	return nil
}

// optionalUser is the signed-in caller's id, or "" (routes open to everyone).
func (s *Server) optionalUser(r *http.Request) string {
	p, err := s.authenticate(r)
	if err != nil {
		return ""
	}
	return p.User.ID
}

// decodeReport reads a browser's report: one JSON object of at most
// maxReportBytes.
func decodeReport(w http.ResponseWriter, r *http.Request, v any) error {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxReportBytes)).Decode(v); err != nil {
		return jsonError(err)
	}
	return nil
}

// reportError records an error the UI caught (window error or unhandled
// rejection). Anyone may report, signed in or not; reports are size-capped
// and rate-limited per address.
func (s *Server) reportError(w http.ResponseWriter, r *http.Request) error {
	if err := s.reportAllowed(r); err != nil {
		return err
	}
	var in struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
		Stack   string `json:"stack"`
		URL     string `json:"url"`
		Page    string `json:"page"`
	}
	if err := decodeReport(w, r, &in); err != nil {
		return err
	}
	if in.Kind != errtrack.KindError && in.Kind != errtrack.KindRejection {
		return errInvalid(map[string]string{"kind": "must be error or unhandled_rejection"})
	}
	id := s.errors.Capture(r.Context(), errtrack.Report{Source: errtrack.SourceBrowser, Kind: in.Kind, Message: in.Message,
		Stack: in.Stack, Route: in.Page, RequestID: requestID(r.Context()), UserID: s.optionalUser(r), URL: in.URL,
		UserAgent: r.UserAgent()})
	writeJSON(w, http.StatusAccepted, map[string]string{"group": id})
	return nil
}

// reportVitals records page-load timings (web vitals) a browser measured.
func (s *Server) reportVitals(w http.ResponseWriter, r *http.Request) error {
	if err := s.reportAllowed(r); err != nil {
		return err
	}
	var in struct {
		Page    string `json:"page"`
		Metrics []struct {
			Name  string  `json:"name"`
			Value float64 `json:"value"`
		} `json:"metrics"`
	}
	if err := decodeReport(w, r, &in); err != nil {
		return err
	}
	if len(in.Metrics) > 16 {
		return errInvalid(map[string]string{"metrics": "at most 16 at once"})
	}
	kept := 0
	for _, m := range in.Metrics {
		if s.errors.RecordVital(m.Name, in.Page, m.Value) {
			kept++
		}
	}
	writeJSON(w, http.StatusAccepted, map[string]int{"kept": kept})
	return nil
}

type errorGroupJSON struct {
	ID            string    `json:"id"`
	Source        string    `json:"source"`
	Kind          string    `json:"kind"`
	Message       string    `json:"message"`
	Route         string    `json:"route"`
	Stack         string    `json:"stack"`
	Count         int64     `json:"count"`
	FirstSeen     time.Time `json:"first_seen"`
	LastSeen      time.Time `json:"last_seen"`
	LastRequestID string    `json:"last_request_id"`
	LastUserID    string    `json:"last_user_id"`
}

type errorEventJSON struct {
	ID        string    `json:"id"`
	RequestID string    `json:"request_id"`
	UserID    string    `json:"user_id"`
	Route     string    `json:"route"`
	URL       string    `json:"url"`
	UserAgent string    `json:"user_agent"`
	Stack     string    `json:"stack"`
	At        time.Time `json:"at"`
}

func errorGroupOut(g store.ErrorGroup) errorGroupJSON {
	return errorGroupJSON{ID: g.ID, Source: g.Source, Kind: g.Kind, Message: g.Message, Route: g.Route, Stack: g.Stack,
		Count: g.Count, FirstSeen: g.FirstSeen, LastSeen: g.LastSeen, LastRequestID: g.LastRequestID, LastUserID: g.LastUserID}
}

// adminErrors lists the tracked errors, most recently seen first.
func (s *Server) adminErrors(w http.ResponseWriter, r *http.Request) error {
	gs, err := s.store.ListErrorGroups(r.Context(), 200)
	if err != nil {
		return err
	}
	out := make([]errorGroupJSON, 0, len(gs))
	for _, g := range gs {
		out = append(out, errorGroupOut(g))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// adminError answers one tracked error with its kept occurrences.
func (s *Server) adminError(w http.ResponseWriter, r *http.Request) error {
	g, err := s.store.ErrorGroup(r.Context(), r.PathValue("eid"))
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("error")
	}
	if err != nil {
		return err
	}
	es, err := s.store.ErrorEvents(r.Context(), g.ID)
	if err != nil {
		return err
	}
	events := make([]errorEventJSON, 0, len(es))
	for _, e := range es {
		events = append(events, errorEventJSON{ID: e.ID, RequestID: e.RequestID, UserID: e.UserID, Route: e.Route,
			URL: e.URL, UserAgent: e.UserAgent, Stack: e.Stack, At: e.CreatedAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"group": errorGroupOut(g), "events": events})
	return nil
}

// resolveError forgets a tracked error (it comes back if it recurs).
func (s *Server) resolveError(w http.ResponseWriter, r *http.Request) error {
	err := s.store.DeleteErrorGroup(r.Context(), r.PathValue("eid"))
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("error")
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// adminVitals answers the page-load timings browsers reported.
func (s *Server) adminVitals(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, s.errors.Vitals())
	return nil
}
