-- Checkpoints: a project's captured states. The files, database snapshot
-- and conversation live in the content-addressed object store under the
-- hashes recorded here; env and metrics are JSON text.
CREATE TABLE checkpoints (
    id                TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    parent_id         TEXT REFERENCES checkpoints(id) ON DELETE SET NULL,
    message           TEXT NOT NULL DEFAULT '',
    created_by        TEXT NOT NULL DEFAULT '',
    "trigger"         TEXT NOT NULL CHECK ("trigger" IN ('user', 'agent', 'restore', 'fork', 'deploy', 'auto')),
    manifest_hash     TEXT NOT NULL,
    db_hash           TEXT NOT NULL DEFAULT '',
    conversation_hash TEXT NOT NULL DEFAULT '',
    env               TEXT NOT NULL DEFAULT '{}',
    metrics           TEXT NOT NULL DEFAULT '{}',
    created_at        INTEGER NOT NULL
);
CREATE INDEX checkpoints_project ON checkpoints(project_id, created_at);
CREATE INDEX checkpoints_parent ON checkpoints(parent_id);
