package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Deployment is a project's published app (at most one per project).
type Deployment struct {
	ProjectID       string
	Slug            string // the host label: <slug>.<apps domain>
	Kind            string // static, server, autoscale, scheduled
	ActiveReleaseID string // "" before the first release went live
	// Schedule is a scheduled deployment's cron schedule (5 fields).
	Schedule string
	// ScheduleCheckedAt is when its due times were last looked at: the ones
	// after it are run or reported missed.
	ScheduleCheckedAt time.Time
	// Instances is how many instances a server or autoscale release runs.
	Instances int
	// IdleTimeout is how long an autoscale deployment's instances may go
	// without requests before they stop (0: the server's default).
	IdleTimeout time.Duration
	// SecretsRestartedAt is when its instances last restarted because a
	// production secret changed (zero: never).
	SecretsRestartedAt time.Time
	// SecretsRestartError and SecretsRestartFailedAt: why and when the
	// last such restart failed ("" and zero: it did not, or a later
	// restart or activation succeeded).
	SecretsRestartError    string
	SecretsRestartFailedAt time.Time
	// ResizeError and ResizeFailedAt: why and when the last change of
	// size failed (the old instances kept serving at the old size); "" and
	// zero once a size is set again.
	ResizeError    string
	ResizeFailedAt time.Time
	// Size is the size of its sandboxes ("default": the server's limits).
	Size      string
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Release is one immutable version of a deployment.
type Release struct {
	ID           string
	ProjectID    string
	CheckpointID string
	Kind         string
	Status       string // building, starting, live, ready, failed, crashing, suspended, stopped
	Reason       string // why it failed (the end of the build log, or what the health check saw)
	RunConfig    string // .ecode.toml as published
	CreatedBy    string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

const deploymentColumns = `project_id, slug, kind, active_release_id, schedule, schedule_checked_at, instances, created_by, created_at, updated_at, idle_timeout_s, secrets_restarted_at, size, secrets_restart_error, secrets_restart_failed_at, resize_error, resize_failed_at`

func scanDeployment(sc interface{ Scan(...any) error }) (Deployment, error) {
	var d Deployment
	var active sql.NullString
	var c, u, checked, idle, restarted, failed, resizeFailed int64
	err := sc.Scan(&d.ProjectID, &d.Slug, &d.Kind, &active, &d.Schedule, &checked, &d.Instances, &d.CreatedBy, &c, &u, &idle, &restarted, &d.Size,
		&d.SecretsRestartError, &failed, &d.ResizeError, &resizeFailed)
	d.ActiveReleaseID, d.CreatedAt, d.UpdatedAt = active.String, fromMicros(c), fromMicros(u)
	d.IdleTimeout, d.SecretsRestartedAt = time.Duration(idle)*time.Second, optTime(restarted)
	d.SecretsRestartFailedAt, d.ResizeFailedAt = optTime(failed), optTime(resizeFailed)
	if checked != 0 {
		d.ScheduleCheckedAt = fromMicros(checked)
	}
	return d, mapErr(err)
}

// CreateDeployment inserts a project's deployment; ErrConflict when the
// project has one or the slug is taken.
func (s *Store) CreateDeployment(ctx context.Context, d Deployment) error {
	var checked int64
	if !d.ScheduleCheckedAt.IsZero() {
		checked = micros(d.ScheduleCheckedAt)
	}
	if d.Instances < 1 {
		d.Instances = 1
	}
	if d.Size == "" {
		d.Size = "default"
	}
	_, err := s.exec(ctx, `INSERT INTO deployments (`+deploymentColumns+`) VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ProjectID, d.Slug, d.Kind, d.Schedule, checked, d.Instances, d.CreatedBy, micros(d.CreatedAt), micros(d.UpdatedAt),
		int64(d.IdleTimeout/time.Second), optMicros(d.SecretsRestartedAt), d.Size, d.SecretsRestartError, optMicros(d.SecretsRestartFailedAt),
		d.ResizeError, optMicros(d.ResizeFailedAt))
	return err
}

// DeploymentForProject returns the project's deployment or ErrNotFound.
func (s *Store) DeploymentForProject(ctx context.Context, projectID string) (Deployment, error) {
	return scanDeployment(s.queryRow(ctx, `SELECT `+deploymentColumns+` FROM deployments WHERE project_id = ?`, projectID))
}

// DeploymentBySlug returns the deployment answering at slug or ErrNotFound.
func (s *Store) DeploymentBySlug(ctx context.Context, slug string) (Deployment, error) {
	return scanDeployment(s.queryRow(ctx, `SELECT `+deploymentColumns+` FROM deployments WHERE slug = ?`, slug))
}

// ListDeployments returns every deployment (the server resumes them at start).
func (s *Store) ListDeployments(ctx context.Context) ([]Deployment, error) {
	ds, err := s.deployments(ctx, `SELECT `+deploymentColumns+` FROM deployments ORDER BY created_at, project_id`)
	if err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	return ds, nil
}

// deployments runs a query whose rows are deployments.
func (s *Store) deployments(ctx context.Context, query string, args ...any) ([]Deployment, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ds []Deployment
	for rows.Next() {
		d, err := scanDeployment(rows)
		if err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	return ds, rows.Err()
}

// SetDeploymentKind changes the kind later releases are published as.
func (s *Store) SetDeploymentKind(ctx context.Context, projectID, kind string, at time.Time) error {
	return affected(s.exec(ctx, `UPDATE deployments SET kind = ?, updated_at = ? WHERE project_id = ?`, kind, micros(at), projectID))
}

// SetDeploymentInstances sets how many instances later starts run.
func (s *Store) SetDeploymentInstances(ctx context.Context, projectID string, n int, at time.Time) error {
	return affected(s.exec(ctx, `UPDATE deployments SET instances = ?, updated_at = ? WHERE project_id = ?`, n, micros(at), projectID))
}

// SetDeploymentSize sets the size of the deployment's sandboxes; a
// failed change of size before it is forgotten.
func (s *Store) SetDeploymentSize(ctx context.Context, projectID, size string, at time.Time) error {
	return affected(s.exec(ctx, `UPDATE deployments SET size = ?, resize_error = '', resize_failed_at = 0, updated_at = ? WHERE project_id = ?`,
		size, micros(at), projectID))
}

// SetResizeFailure records why and when the change of the deployment's
// size to failedSize failed, and sets its size back to oldSize unless it
// was set to another size meanwhile.
func (s *Store) SetResizeFailure(ctx context.Context, projectID, failedSize, oldSize, reason string, at time.Time) error {
	return affected(s.exec(ctx, `UPDATE deployments SET size = CASE WHEN size = ? THEN ? ELSE size END, resize_error = ?, resize_failed_at = ?, updated_at = ? WHERE project_id = ?`,
		failedSize, oldSize, reason, micros(at), micros(at), projectID))
}

// SetDeploymentIdleTimeout sets an autoscale deployment's idle timeout
// (0: the server's default), whole seconds.
func (s *Store) SetDeploymentIdleTimeout(ctx context.Context, projectID string, d time.Duration, at time.Time) error {
	return affected(s.exec(ctx, `UPDATE deployments SET idle_timeout_s = ?, updated_at = ? WHERE project_id = ?`,
		int64(d/time.Second), micros(at), projectID))
}

// SetSecretsRestarted records when the deployment's instances restarted
// with changed production secrets.
func (s *Store) SetSecretsRestarted(ctx context.Context, projectID string, at time.Time) error {
	return affected(s.exec(ctx, `UPDATE deployments SET secrets_restarted_at = ? WHERE project_id = ?`, micros(at), projectID))
}

// SetSecretsRestartFailure records why and when the deployment's last
// restart with changed production secrets failed; reason "" clears it.
func (s *Store) SetSecretsRestartFailure(ctx context.Context, projectID, reason string, at time.Time) error {
	if reason == "" {
		at = time.Time{}
	}
	return affected(s.exec(ctx, `UPDATE deployments SET secrets_restart_error = ?, secrets_restart_failed_at = ? WHERE project_id = ?`,
		reason, optMicros(at), projectID))
}

// ActivateRelease makes releaseID the deployment's active release and marks
// it live, and the release live (or suspended) before it ready, in one
// transaction. A failed restart with new secrets is forgotten: the release
// started with the current ones.
func (s *Store) ActivateRelease(ctx context.Context, projectID, releaseID string, at time.Time) error {
	return s.InTx(ctx, func(tx *Store) error {
		if _, err := tx.exec(ctx, `UPDATE releases SET status = 'ready', updated_at = ? WHERE project_id = ? AND status IN ('live', 'crashing', 'suspended') AND id <> ?`,
			micros(at), projectID, releaseID); err != nil {
			return err
		}
		if err := affected(tx.exec(ctx, `UPDATE releases SET status = 'live', reason = '', updated_at = ? WHERE project_id = ? AND id = ?`,
			micros(at), projectID, releaseID)); err != nil {
			return err
		}
		return affected(tx.exec(ctx, `UPDATE deployments SET active_release_id = ?, secrets_restart_error = '', secrets_restart_failed_at = 0, updated_at = ? WHERE project_id = ?`,
			releaseID, micros(at), projectID))
	})
}

const releaseColumns = `id, project_id, checkpoint_id, kind, status, reason, run_config, created_by, created_at, updated_at`

func scanRelease(sc interface{ Scan(...any) error }) (Release, error) {
	var r Release
	var c, u int64
	err := sc.Scan(&r.ID, &r.ProjectID, &r.CheckpointID, &r.Kind, &r.Status, &r.Reason, &r.RunConfig, &r.CreatedBy, &c, &u)
	r.CreatedAt, r.UpdatedAt = fromMicros(c), fromMicros(u)
	return r, mapErr(err)
}

// CreateRelease inserts a release.
func (s *Store) CreateRelease(ctx context.Context, r Release) error {
	_, err := s.exec(ctx, `INSERT INTO releases (`+releaseColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.ProjectID, r.CheckpointID, r.Kind, r.Status, r.Reason, r.RunConfig, r.CreatedBy, micros(r.CreatedAt), micros(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create release: %w", err)
	}
	return nil
}

// SetReleaseStatus records a release's status and the reason for it.
func (s *Store) SetReleaseStatus(ctx context.Context, id, status, reason string, at time.Time) error {
	return affected(s.exec(ctx, `UPDATE releases SET status = ?, reason = ?, updated_at = ? WHERE id = ?`, status, reason, micros(at), id))
}

// ReleaseOf returns the project's release id or ErrNotFound.
func (s *Store) ReleaseOf(ctx context.Context, projectID, id string) (Release, error) {
	return scanRelease(s.queryRow(ctx, `SELECT `+releaseColumns+` FROM releases WHERE project_id = ? AND id = ?`, projectID, id))
}

// ListReleases returns the project's releases, newest first.
func (s *Store) ListReleases(ctx context.Context, projectID string) ([]Release, error) {
	rows, err := s.query(ctx, `SELECT `+releaseColumns+` FROM releases WHERE project_id = ? ORDER BY created_at DESC, id DESC`, projectID)
	if err != nil {
		return nil, fmt.Errorf("list releases: %w", err)
	}
	defer rows.Close()
	var rs []Release
	for rows.Next() {
		r, err := scanRelease(rows)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, rows.Err()
}
