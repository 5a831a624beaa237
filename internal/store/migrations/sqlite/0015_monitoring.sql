-- Monitoring: a row of the server's own counters per node every
-- --monitor-interval (requests, 5xx answers and latency since the previous
-- row, and the state at that moment), kept for --monitor-retention; the
-- admin Monitoring page charts them.
CREATE TABLE monitor_samples (
    node               TEXT NOT NULL,
    at                 INTEGER NOT NULL,
    seconds            INTEGER NOT NULL,
    requests           INTEGER NOT NULL,
    errors_5xx         INTEGER NOT NULL,
    p50_us             INTEGER NOT NULL,
    p95_us             INTEGER NOT NULL,
    sandboxes_active   INTEGER NOT NULL,
    users_active       INTEGER NOT NULL,
    agent_spend_micros INTEGER NOT NULL,
    jobs_queued        INTEGER NOT NULL,
    jobs_running       INTEGER NOT NULL,
    jobs_failed        INTEGER NOT NULL,
    disk_free_bytes    INTEGER NOT NULL,
    disk_total_bytes   INTEGER NOT NULL,
    PRIMARY KEY (node, at)
);
CREATE INDEX monitor_samples_at ON monitor_samples(at);
