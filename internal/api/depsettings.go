package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"ecode/internal/deploy"
)

// settingsBody is PATCH /api/projects/{id}/deployment: the live
// deployment's settings, each left alone when absent.
type settingsBody struct {
	Instances    *int    `json:"instances"`
	Schedule     *string `json:"schedule"`
	IdleTimeoutS *int    `json:"idle_timeout_s"` // 0: the server's default
	Size         *string `json:"size"`           // default, small, medium or large
}

// validate checks what needs no deployment; the rest (bounds by kind, the
// schedule's syntax) is deploy.UpdateSettings's.
func (q settingsBody) validate() map[string]string {
	if q.Instances == nil && q.Schedule == nil && q.IdleTimeoutS == nil && q.Size == nil {
		return map[string]string{"instances": "give instances, schedule, idle_timeout_s or size"}
	}
	return nil
}

func (s *Server) patchDeployment(w http.ResponseWriter, r *http.Request) error {
	var q settingsBody
	if err := decode(w, r, &q); err != nil {
		return err
	}
	p := project(r)
	o := deploy.Settings{Instances: q.Instances, Schedule: q.Schedule, Size: q.Size}
	if q.IdleTimeoutS != nil {
		d := time.Duration(*q.IdleTimeoutS) * time.Second
		o.IdleTimeout = &d
	}
	if q.Instances != nil || q.Size != nil { // more or bigger instances cost more: the deployment allowance applies
		if err := s.billing.AllowDeploy(r.Context(), p.OwnerID, p.ID); err != nil {
			return err
		}
	}
	st, err := s.deploy.UpdateSettings(r.Context(), p.ID, o)
	if err != nil {
		return settingsErr(err)
	}
	code := http.StatusOK
	if st.Resizing { // the new instances start after this answer
		code = http.StatusAccepted
	}
	writeJSON(w, code, s.deploymentJSON(r, st))
	return nil
}

// settingsErr maps UpdateSettings' errors to answers; a refused setting is
// a field error carrying the reason (a bad schedule: the cron parser's).
func settingsErr(err error) error {
	var se *deploy.SettingError
	switch {
	case errors.As(err, &se):
		field := se.Field
		if field == "idle_timeout" {
			field = "idle_timeout_s"
		}
		msg := strings.TrimPrefix(se.Error(), "deploy: ")
		if errors.Is(err, deploy.ErrSizeOverPlan) { // upgrading the plan allows it
			return &Error{Status: http.StatusPaymentRequired, Code: "quota", Message: msg,
				Fields: map[string]string{field: msg, "limit": "quota_size", "link": "/usage"}}
		}
		return &Error{Status: http.StatusBadRequest, Code: "invalid", Message: msg, Fields: map[string]string{field: msg}}
	case errors.Is(err, deploy.ErrNoDeployment), errors.Is(err, deploy.ErrProjectStopped):
		return errNotFound("deployment")
	case errors.Is(err, deploy.ErrResizing):
		return &Error{Status: http.StatusConflict, Code: "resizing", Message: strings.TrimPrefix(err.Error(), "deploy: ")}
	case errors.Is(err, deploy.ErrScaleFailed):
		return &Error{Status: http.StatusConflict, Code: "start_failed", Message: strings.TrimPrefix(err.Error(), "deploy: "), Err: err}
	}
	return err
}
