-- Deployments: one per project, published on <slug>.<apps domain>. Each
-- publish makes an immutable release (a checkpoint plus its run
-- configuration and build output); the deployment serves its active one.
CREATE TABLE deployments (
    project_id        TEXT PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    slug              TEXT NOT NULL UNIQUE,
    kind              TEXT NOT NULL,
    active_release_id TEXT,
    created_by        TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE TABLE releases (
    id            TEXT PRIMARY KEY,
    project_id    TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    checkpoint_id TEXT NOT NULL,
    kind          TEXT NOT NULL,
    status        TEXT NOT NULL,
    reason        TEXT NOT NULL DEFAULT '',
    run_config    TEXT NOT NULL DEFAULT '',
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX releases_project ON releases(project_id, created_at);
