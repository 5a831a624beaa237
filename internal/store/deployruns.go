package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DeploymentRun is one due time of a scheduled deployment: a run of its
// command, or a due time skipped (the previous run still going) or missed
// (the server was not running then).
type DeploymentRun struct {
	ID          string
	ProjectID   string
	ReleaseID   string
	ScheduledAt time.Time
	StartedAt   time.Time // zero when it did not run
	EndedAt     time.Time // zero while it runs
	Status      string    // running, succeeded, failed, skipped, missed
	ExitCode    int
	Reason      string
	NodeID      string // the node it runs on ("" on a single node)
}

// SetDeploymentSchedule sets a deployment's cron schedule, its due times
// counted from checkedAt.
func (s *Store) SetDeploymentSchedule(ctx context.Context, projectID, schedule string, checkedAt, at time.Time) error {
	return affected(s.exec(ctx, `UPDATE deployments SET schedule = ?, schedule_checked_at = ?, updated_at = ? WHERE project_id = ?`,
		schedule, micros(checkedAt), micros(at), projectID))
}

// SetScheduleChecked records that the deployment's due times up to t were handled.
func (s *Store) SetScheduleChecked(ctx context.Context, projectID string, t time.Time) error {
	return affected(s.exec(ctx, `UPDATE deployments SET schedule_checked_at = ? WHERE project_id = ?`, micros(t), projectID))
}

const runColumns = `id, project_id, release_id, scheduled_at, started_at, ended_at, status, exit_code, reason, node_id`

func optMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return micros(t)
}

func optTime(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromMicros(v)
}

// CreateDeploymentRun records a run (or a skipped or missed due time);
// ErrConflict when the deployment's due time has a row already (one row
// per due time: another node handled it).
func (s *Store) CreateDeploymentRun(ctx context.Context, r DeploymentRun) error {
	_, err := s.exec(ctx, `INSERT INTO deployment_runs (`+runColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.ProjectID, r.ReleaseID, micros(r.ScheduledAt), optMicros(r.StartedAt), optMicros(r.EndedAt), r.Status, r.ExitCode, r.Reason, r.NodeID)
	if err != nil {
		if err = mapErr(err); errors.Is(err, ErrConflict) {
			return err
		}
		return fmt.Errorf("create deployment run: %w", err)
	}
	return nil
}

// FinishDeploymentRun records how a run ended.
func (s *Store) FinishDeploymentRun(ctx context.Context, id, status string, exitCode int, reason string, at time.Time) error {
	return affected(s.exec(ctx, `UPDATE deployment_runs SET status = ?, exit_code = ?, reason = ?, ended_at = ? WHERE id = ?`,
		status, exitCode, reason, micros(at), id))
}

// FailRunningDeploymentRuns marks every run of node still recorded as
// running as failed with reason (at startup: the node stopped during them).
func (s *Store) FailRunningDeploymentRuns(ctx context.Context, node, reason string, at time.Time) error {
	_, err := s.exec(ctx, `UPDATE deployment_runs SET status = 'failed', reason = ?, ended_at = ? WHERE status = 'running' AND node_id = ?`,
		reason, micros(at), node)
	return err
}

func scanRun(sc interface{ Scan(...any) error }) (DeploymentRun, error) {
	var r DeploymentRun
	var sched, started, ended int64
	err := sc.Scan(&r.ID, &r.ProjectID, &r.ReleaseID, &sched, &started, &ended, &r.Status, &r.ExitCode, &r.Reason, &r.NodeID)
	r.ScheduledAt, r.StartedAt, r.EndedAt = fromMicros(sched), optTime(started), optTime(ended)
	return r, mapErr(err)
}

// DeploymentRunOf returns the project's run id or ErrNotFound.
func (s *Store) DeploymentRunOf(ctx context.Context, projectID, id string) (DeploymentRun, error) {
	return scanRun(s.queryRow(ctx, `SELECT `+runColumns+` FROM deployment_runs WHERE project_id = ? AND id = ?`, projectID, id))
}

// ListDeploymentRuns returns the project's last limit runs, newest first.
func (s *Store) ListDeploymentRuns(ctx context.Context, projectID string, limit int) ([]DeploymentRun, error) {
	rows, err := s.query(ctx, `SELECT `+runColumns+` FROM deployment_runs WHERE project_id = ?
		ORDER BY scheduled_at DESC, id DESC LIMIT ?`, projectID, limit)
	if err != nil {
		return nil, fmt.Errorf("list deployment runs: %w", err)
	}
	defer rows.Close()
	var out []DeploymentRun
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// PruneDeploymentRuns deletes the project's runs but the newest keep, and
// returns the ids deleted (their logs go too).
func (s *Store) PruneDeploymentRuns(ctx context.Context, projectID string, keep int) ([]string, error) {
	var ids []string
	err := s.InTx(ctx, func(tx *Store) error {
		rows, err := tx.query(ctx, `SELECT id FROM deployment_runs WHERE project_id = ?
			ORDER BY scheduled_at DESC, id DESC LIMIT 1000000 OFFSET ?`, projectID, keep)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := tx.exec(ctx, `DELETE FROM deployment_runs WHERE id = ?`, id); err != nil {
				return err
			}
		}
		return nil
	})
	return ids, err
}
