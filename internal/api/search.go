package api

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"ecode/internal/workspace"
)

// Project search bounds: enough to be useful, small enough to stay fast.
const (
	searchMaxResults   = 500
	searchMaxFileBytes = 1 << 20
)

// searchProject answers GET /api/projects/{id}/search?q=: the lines of the
// project's text files that contain q.
func (s *Server) searchProject(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query().Get("q")
	if strings.TrimSpace(q) == "" || len(q) > 200 || !utf8.ValidString(q) || strings.ContainsAny(q, "\n\x00") {
		return &Error{Status: http.StatusBadRequest, Code: "invalid", Message: "q must be 1 to 200 characters on one line",
			Fields: map[string]string{"q": "must be 1 to 200 characters on one line"}}
	}
	return s.withFiles(r, func(p *workspace.Project) error {
		res, err := p.Search(r.Context(), q, workspace.SearchLimits{MaxResults: searchMaxResults, MaxFileBytes: searchMaxFileBytes})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, res)
		return nil
	})
}
