-- Append-only usage ledger: one row per metered event; the idempotency key
-- makes a retried or replayed recording count once.
CREATE TABLE usage_events (
    id              TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    project_id      TEXT NOT NULL,
    user_id         TEXT NOT NULL DEFAULT '',
    kind            TEXT NOT NULL,
    quantity        DOUBLE PRECISION NOT NULL,
    unit            TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX usage_events_project ON usage_events(project_id, created_at);

-- Server-wide settings, such as the key that signs preview tokens (shared
-- by every node).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
