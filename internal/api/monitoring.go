package api

import (
	"net/http"

	"ecode/internal/monitor"
)

// adminMonitoring answers the Monitoring page's series over ?range= (1h,
// the default, 24h or 7d): every node's samples combined by step.
func (s *Server) adminMonitoring(w http.ResponseWriter, r *http.Request) error {
	name := r.URL.Query().Get("range")
	if name == "" {
		name = "1h"
	}
	if _, ok := monitor.Ranges[name]; !ok {
		return errInvalid(map[string]string{"range": "must be 1h, 24h or 7d"})
	}
	series, err := s.monitor.Series(r.Context(), name)
	if err != nil {
		return errInternal(err)
	}
	writeJSON(w, http.StatusOK, series)
	return nil
}
