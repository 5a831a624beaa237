package api

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"ecode/internal/deploy"
	"ecode/internal/store"
)

// deploymentRoutes are a project's deployment (DESIGN.md section 5).
func (s *Server) deploymentRoutes() []route {
	return []route{
		{"GET /api/projects/{id}/deployment", ProjViewer, s.atRunningDeploymentOr(s.getDeployment, s.getMovingDeployment)}, // its live fields are the running node's
		{"PATCH /api/projects/{id}/deployment", ProjEditor, s.atDeploymentOwner(s.patchDeployment)},
		{"POST /api/projects/{id}/deployment/publish", ProjEditor, s.atDeploymentOwner(s.publish)},
		{"POST /api/projects/{id}/deployment/releases/{rid}/activate", ProjEditor, s.atDeploymentOwner(s.activateRelease)},
		{"GET /api/projects/{id}/deployment/releases/{rid}/log", ProjViewer, s.releaseLog},
		{"GET /api/projects/{id}/deployment/logs", ProjViewer, s.appLog},
		{"GET /api/projects/{id}/deployment/metrics", ProjViewer, s.deploymentMetrics},
		{"GET /api/projects/{id}/deployment/runs", ProjViewer, s.listDeploymentRuns},
		{"GET /api/projects/{id}/deployment/runs/{runid}/log", ProjViewer, s.deploymentRunLog},
		{"GET /api/projects/{id}/deployment/secrets", ProjViewer, s.listProductionSecrets},
		{"PUT /api/projects/{id}/deployment/secrets/{name}", ProjEditor, s.atRunningDeployment(s.putProductionSecret)},
		{"DELETE /api/projects/{id}/deployment/secrets/{name}", ProjEditor, s.atRunningDeployment(s.deleteProductionSecret)},
		{"POST /api/projects/{id}/deployment/secrets/{name}/reveal", ProjEditor, s.revealProductionSecret},
	}
}

type publishRequest struct {
	Kind      string `json:"kind"`
	Schedule  string `json:"schedule"`
	Instances int    `json:"instances"`
	Database  string `json:"database"`
	Size      string `json:"size"` // "": keep (the default at first)
}

func (q *publishRequest) validate() map[string]string {
	if q.Kind != "" && !deploy.ValidKind(q.Kind) {
		return map[string]string{"kind": "must be static, server, autoscale or scheduled"}
	}
	if q.Database != "" && q.Database != deploy.DatabaseEmpty && q.Database != deploy.DatabaseCopy {
		return map[string]string{"database": "must be empty or copy"}
	}
	if q.Instances < 0 || q.Instances > deploy.MaxInstances {
		return map[string]string{"instances": fmt.Sprintf("must be between 1 and %d", deploy.MaxInstances)}
	}
	if q.Schedule != "" {
		if _, err := deploy.ParseSchedule(q.Schedule); err != nil {
			return map[string]string{"schedule": strings.TrimPrefix(err.Error(), deploy.ErrBadSchedule.Error()+": ")}
		}
	}
	return nil
}

// appURL is the deployment's public address, on the port the request came in on.
func (s *Server) appURL(r *http.Request, slug string) string {
	scheme := "http"
	if s.opts.SecureCookies {
		scheme = "https"
	}
	_, port, _ := net.SplitHostPort(r.Host)
	return s.deploy.URL(slug, scheme, port)
}

func (s *Server) publish(w http.ResponseWriter, r *http.Request) error {
	var q publishRequest
	if r.ContentLength != 0 {
		if err := decode(w, r, &q); err != nil {
			return err
		}
	}
	p := project(r)
	if err := s.billing.AllowDeploy(r.Context(), p.OwnerID, p.ID); err != nil {
		return err
	}
	rel, dep, err := s.deploy.Publish(r.Context(), p.ID, p.Name, principal(r).User.ID, deploy.PublishOptions{Kind: q.Kind, Schedule: q.Schedule, Instances: q.Instances, Database: q.Database, Size: q.Size})
	var se *deploy.SettingError
	if errors.As(err, &se) {
		return settingsErr(err)
	} else if errors.Is(err, deploy.ErrNoSchedule) {
		return errInvalid(map[string]string{"schedule": "a scheduled deployment needs a cron schedule, e.g. \"*/15 * * * *\""})
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"release": releaseJSON(rel), "url": s.appURL(r, dep.Slug)})
	return nil
}

func releaseJSON(r store.Release) map[string]any {
	return map[string]any{"id": r.ID, "status": r.Status, "kind": r.Kind, "checkpoint_id": r.CheckpointID,
		"created_by": r.CreatedBy, "created_at": r.CreatedAt, "reason": r.Reason}
}

func (s *Server) getDeployment(w http.ResponseWriter, r *http.Request) error {
	st, err := s.deploy.Get(r.Context(), project(r).ID)
	if errors.Is(err, deploy.ErrNoDeployment) {
		sizes := s.deploy.Sizes(r.Context(), project(r).ID)
		writeJSON(w, http.StatusOK, map[string]any{"url": "", "kind": "", "status": "none", "active_release_id": "",
			"releases": []deploy.Release{}, "apps_domain": s.deploy.AppsDomain(), "instances": 0, "asleep": false, "instance_count": 1,
			"production_database": false, "database_choice": s.deploy.HasDatabases(),
			"size": sizes[0].Size, "sizes": sizes})
		return nil
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.deploymentJSON(r, st))
	return nil
}

// getMovingDeployment answers GET .../deployment from the store when the
// node running the deployment does not answer: what is recorded, with the
// instances unknown (null) and moving set (another node takes the app once
// the silent node's lease runs out).
func (s *Server) getMovingDeployment(w http.ResponseWriter, r *http.Request) error {
	st, err := s.deploy.Get(r.Context(), project(r).ID)
	if err != nil {
		return err // a deployment some node runs exists
	}
	out := s.deploymentJSON(r, st)
	out["instances"], out["asleep"], out["moving"] = nil, false, true
	writeJSON(w, http.StatusOK, out)
	return nil
}

// deploymentJSON is GET /api/projects/{id}/deployment's answer.
func (s *Server) deploymentJSON(r *http.Request, st deploy.Status) map[string]any {
	return map[string]any{"url": s.appURL(r, st.Slug), "kind": st.Kind, "status": st.Status,
		"active_release_id": st.ActiveReleaseID, "releases": st.Releases, "apps_domain": s.deploy.AppsDomain(),
		"instances": st.Instances, "asleep": st.Asleep, "schedule": st.Schedule, "next_run_at": st.NextRunAt,
		"instance_count": st.InstanceCount, "production_database": s.deploy.HasData(r.Context(), project(r).ID),
		"database_choice": s.deploy.HasDatabases(), "idle_timeout_s": st.IdleTimeoutS,
		"idle_timeout_default": st.IdleTimeoutDefault, "secrets_restarted_at": st.SecretsRestartedAt,
		"restarting": st.Restarting, "resizing": st.Resizing, "secrets_restart_error": st.SecretsRestartError,
		"secrets_restart_failed_at": st.SecretsRestartFailedAt, "max_instances": deploy.MaxInstances,
		"resize_error": st.ResizeError, "resize_failed_at": st.ResizeFailedAt,
		"size": st.Size, "sizes": s.deploy.Sizes(r.Context(), project(r).ID)}
}

// activateBody is a rollback's choice: restore_data also puts back the
// production data as it was when the release was published.
type activateBody struct {
	RestoreData bool `json:"restore_data"`
}

func (activateBody) validate() map[string]string { return nil }

func (s *Server) activateRelease(w http.ResponseWriter, r *http.Request) error {
	var body activateBody
	if r.ContentLength != 0 {
		if err := decode(w, r, &body); err != nil {
			return err
		}
	}
	if err := s.billing.AllowDeploy(r.Context(), project(r).OwnerID, project(r).ID); err != nil {
		return err // a release starting again is a deployment start
	}
	rel, err := s.deploy.Activate(r.Context(), project(r).ID, r.PathValue("rid"), principal(r).User.ID, body.RestoreData)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errNotFound("release")
	case errors.Is(err, deploy.ErrNoSnapshot):
		return &Error{Status: http.StatusConflict, Code: "no_data_snapshot", Message: err.Error(), Err: err}
	case errors.Is(err, deploy.ErrNotActivatable):
		return errConflict(err.Error())
	case err != nil:
		return &Error{Status: http.StatusConflict, Code: "start_failed", Message: "the release did not start: " + err.Error(), Err: err}
	}
	writeJSON(w, http.StatusOK, map[string]any{"release": releaseJSON(rel)})
	return nil
}

func (s *Server) releaseLog(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.store.ReleaseOf(r.Context(), project(r).ID, r.PathValue("rid")); errors.Is(err, store.ErrNotFound) {
		return errNotFound("release")
	} else if err != nil {
		return err
	}
	b, err := s.deploy.BuildLog(project(r).ID, r.PathValue("rid"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(b)
	return nil
}

// appLog is the end of a release's runtime log (the active release unless
// ?release= names one), lines filtered by ?q= (case-insensitive), the last
// ?tail= of them (default 500, at most 5000).
func (s *Server) appLog(w http.ResponseWriter, r *http.Request) error {
	p := project(r)
	q := deploy.LogQuery{ReleaseID: r.URL.Query().Get("release"), Search: r.URL.Query().Get("q")}
	if t := r.URL.Query().Get("tail"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 {
			return errInvalid(map[string]string{"tail": "must be a positive number"})
		}
		q.Tail = n
	}
	if q.ReleaseID == "" {
		d, err := s.store.DeploymentForProject(r.Context(), p.ID)
		if errors.Is(err, store.ErrNotFound) {
			return errNotFound("deployment")
		} else if err != nil {
			return err
		}
		q.ReleaseID = d.ActiveReleaseID
	} else if _, err := s.store.ReleaseOf(r.Context(), p.ID, q.ReleaseID); errors.Is(err, store.ErrNotFound) {
		return errNotFound("release")
	} else if err != nil {
		return err
	}
	l, err := s.deploy.AppLog(p.ID, q)
	if err != nil && !errors.Is(err, deploy.ErrNoRelease) { // no release: published, nothing live yet
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}
