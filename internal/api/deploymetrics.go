package api

import (
	"net/http"
)

// deploymentMetrics answers the deployment's request totals since the
// server started: requests, their status classes and the bytes sent.
func (s *Server) deploymentMetrics(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, s.deploy.Counts(project(r).ID))
	return nil
}
