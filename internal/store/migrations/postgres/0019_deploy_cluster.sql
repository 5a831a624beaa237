-- Deployments placed on the nodes of a cluster: the node that runs each
-- live deployment (its instances and scheduled runs), until expires_at,
-- renewed with the owner's heartbeat like a project lease. Apart from the
-- project leases: a live app stays owned while its project's development
-- sandbox sleeps, and apps spread over the nodes on their own.
CREATE TABLE deployment_leases (
    project_id  TEXT PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    node_id     TEXT NOT NULL,
    acquired_at BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX deployment_leases_node ON deployment_leases(node_id);

-- The node a scheduled run runs on (a node that starts fails only its own
-- leftovers; a node taking a deployment over those of the node it
-- replaces), and one row per due time, so two nodes racing for one due
-- time cannot both run it.
ALTER TABLE deployment_runs ADD COLUMN node_id TEXT NOT NULL DEFAULT '';
DELETE FROM deployment_runs WHERE id NOT IN (SELECT MIN(id) FROM deployment_runs GROUP BY project_id, scheduled_at);
DROP INDEX deployment_runs_project;
CREATE UNIQUE INDEX deployment_runs_due ON deployment_runs(project_id, scheduled_at);
