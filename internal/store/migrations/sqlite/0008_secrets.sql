-- Secrets (package secrets): a data key per owner (a project, or a user's
-- account), wrapped by the master key; every value of every secret as a
-- version (AES-256-GCM under the owner's data key); account secrets linked
-- into projects; and the append-only, hash-chained audit log.
-- project_id / user_id repeat owner_id so deleting the owner deletes its
-- keys and values (the audit log stays).
CREATE TABLE secret_keys (
    scope      TEXT NOT NULL,
    owner_id   TEXT NOT NULL,
    project_id TEXT REFERENCES projects(id) ON DELETE CASCADE,
    user_id    TEXT REFERENCES users(id) ON DELETE CASCADE,
    wrapped    BLOB NOT NULL,
    kek_id     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (scope, owner_id)
);

CREATE TABLE secrets (
    scope      TEXT NOT NULL,
    owner_id   TEXT NOT NULL,
    project_id TEXT REFERENCES projects(id) ON DELETE CASCADE,
    user_id    TEXT REFERENCES users(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    version    INTEGER NOT NULL, -- the current version; 0 when deleted
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (scope, owner_id, name)
);

CREATE TABLE secret_versions (
    scope      TEXT NOT NULL,
    owner_id   TEXT NOT NULL,
    project_id TEXT REFERENCES projects(id) ON DELETE CASCADE,
    user_id    TEXT REFERENCES users(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    ciphertext BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (scope, owner_id, name, version)
);

CREATE TABLE secret_links (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, name)
);

CREATE TABLE secret_audit (
    seq        INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    scope      TEXT NOT NULL,
    owner_id   TEXT NOT NULL,
    action     TEXT NOT NULL,
    name       TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    actor      TEXT NOT NULL,
    via        TEXT NOT NULL,
    client     TEXT NOT NULL,
    detail     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX secret_audit_owner ON secret_audit(scope, owner_id, seq);

CREATE TRIGGER secret_audit_no_update BEFORE UPDATE ON secret_audit
BEGIN SELECT RAISE(ABORT, 'secret_audit is append-only'); END;
CREATE TRIGGER secret_audit_no_delete BEFORE DELETE ON secret_audit
BEGIN SELECT RAISE(ABORT, 'secret_audit is append-only'); END;
