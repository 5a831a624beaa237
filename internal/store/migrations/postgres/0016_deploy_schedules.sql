-- Deployments' instance count (server and autoscale releases run that
-- many, load-balanced round robin).
ALTER TABLE deployments ADD COLUMN instances INTEGER NOT NULL DEFAULT 1;

-- Scheduled deployments: a cron schedule on the deployment, the time up to
-- which it was looked at (due times after it and before now run or are
-- reported missed), and each run's record (its log is a file beside the
-- release's).
ALTER TABLE deployments ADD COLUMN schedule TEXT NOT NULL DEFAULT '';
ALTER TABLE deployments ADD COLUMN schedule_checked_at BIGINT NOT NULL DEFAULT 0;
CREATE TABLE deployment_runs (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    release_id   TEXT NOT NULL,
    scheduled_at BIGINT NOT NULL,
    started_at   BIGINT NOT NULL DEFAULT 0,
    ended_at     BIGINT NOT NULL DEFAULT 0,
    status       TEXT NOT NULL, -- running, succeeded, failed, skipped, missed
    exit_code    INTEGER NOT NULL DEFAULT 0,
    reason       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX deployment_runs_project ON deployment_runs(project_id, scheduled_at);
