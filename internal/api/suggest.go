package api

import (
	"net/http"

	"ecode/internal/workspace"
)

// suggestTemplate answers GET /api/templates/suggest?prompt=: the starter
// template that fits what the user wants to build.
func (s *Server) suggestTemplate(w http.ResponseWriter, r *http.Request) error {
	prompt := r.URL.Query().Get("prompt")
	if len(prompt) > 8<<10 {
		return &Error{Status: http.StatusBadRequest, Code: "invalid", Message: "prompt is too long",
			Fields: map[string]string{"prompt": "at most 8 KiB"}}
	}
	writeJSON(w, http.StatusOK, map[string]string{"template": workspace.SuggestTemplate(prompt)})
	return nil
}
