-- Live collaboration: one Yjs document per open file. The document is a
-- snapshot (a full Yjs update) plus the log of updates accepted after it;
-- last_seq numbers the log (incremented under the row lock, so every node
-- appends in one order). The row is created with the seed update, once:
-- the primary key makes concurrent seeding on several nodes pick one seed.
-- file_hash/prev_file_hash are SHA-256 of the last texts the document wrote
-- to disk (a file with another content was changed outside the document);
-- flusher/flusher_until is the lease of the node that writes the file.
CREATE TABLE collab_docs (
    project_id     TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    path           TEXT NOT NULL,
    snapshot       BYTEA NOT NULL,
    snapshot_seq   BIGINT NOT NULL DEFAULT 0,
    last_seq       BIGINT NOT NULL DEFAULT 0,
    file_hash      TEXT NOT NULL DEFAULT '',
    prev_file_hash TEXT NOT NULL DEFAULT '',
    flusher        TEXT NOT NULL DEFAULT '',
    flusher_until  BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (project_id, path)
);

CREATE TABLE collab_updates (
    project_id TEXT NOT NULL,
    path       TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    data       BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, path, seq),
    FOREIGN KEY (project_id, path) REFERENCES collab_docs(project_id, path) ON DELETE CASCADE
);
