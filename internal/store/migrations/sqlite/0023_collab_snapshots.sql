-- A collaborative document's snapshot lives in a table of its own: every
-- logged update bumps collab_docs.last_seq, and with the snapshot in that
-- row each bump rewrote the whole snapshot (a 64 KiB document cost twice
-- a 4 KiB one per edit). The snapshot changes only when the log is
-- compacted, and warm loads no longer read it.
CREATE TABLE collab_snapshots (
    project_id TEXT NOT NULL,
    path       TEXT NOT NULL,
    snapshot   BLOB NOT NULL,
    PRIMARY KEY (project_id, path),
    FOREIGN KEY (project_id, path) REFERENCES collab_docs(project_id, path) ON DELETE CASCADE
);

INSERT INTO collab_snapshots (project_id, path, snapshot)
    SELECT project_id, path, snapshot FROM collab_docs;

ALTER TABLE collab_docs DROP COLUMN snapshot;
