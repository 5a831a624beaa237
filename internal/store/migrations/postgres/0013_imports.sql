-- Imports: a user's request to bring a project in (git, zip, Bolt, Lovable,
-- Figma). The work is staged outside the project store; project_id is the
-- id the project will have, so a crash can be cleaned up at start.
CREATE TABLE imports (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    source      TEXT NOT NULL,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    progress    TEXT NOT NULL DEFAULT '{}',
    project_id  TEXT NOT NULL,
    report      TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX imports_user ON imports(user_id, created_at);
CREATE INDEX imports_status ON imports(status);
