package api

import (
	"net/http"

	"ecode/internal/backup"
)

// BackupList is the answer of GET /api/admin/backups: the folder of
// scheduled backups, their schedule and retention, and the backups there,
// newest first.
type BackupList struct {
	Dir     string        `json:"dir"`
	Every   string        `json:"every"` // "0s": no schedule
	Keep    int           `json:"keep"`
	Backups []backup.Info `json:"backups"`
}

// adminListBackups answers the scheduled backups.
func (s *Server) adminListBackups(w http.ResponseWriter, r *http.Request) error {
	if s.backups == nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "backups are not available on this server"}
	}
	list, err := s.backups(r.Context())
	if err != nil {
		return errInternal(err)
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}
