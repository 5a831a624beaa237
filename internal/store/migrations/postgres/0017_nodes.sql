-- Many nodes, one service. Each `ecode serve` registers here and renews
-- expires_at with its heartbeat; a node is alive while expires_at is ahead.
CREATE TABLE nodes (
    id           TEXT PRIMARY KEY,
    address      TEXT NOT NULL,
    state        TEXT NOT NULL,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);

-- The node that owns each active project's sandbox, until expires_at
-- (renewed with the owner's heartbeat; a later node takes an expired one).
CREATE TABLE project_leases (
    project_id  TEXT PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    node_id     TEXT NOT NULL,
    acquired_at BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX project_leases_node ON project_leases(node_id);

-- Rate-limit state shared by every node (login, sign-up): one row per key,
-- its state as JSON, removed once expires_at has passed.
CREATE TABLE rate_limits (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX rate_limits_expires ON rate_limits(expires_at);

-- One running agent turn per project across every node: the node running a
-- turn is recorded, so a node that starts marks only its own leftovers as
-- interrupted, and a node taking a project over those of the node it replaces.
ALTER TABLE agent_turns ADD COLUMN node_id TEXT NOT NULL DEFAULT '';
UPDATE agent_turns SET status = 'failed', stop_reason = 'interrupted', finished_at = created_at WHERE status = 'running';
CREATE UNIQUE INDEX agent_turns_one_running ON agent_turns(project_id) WHERE status = 'running';
