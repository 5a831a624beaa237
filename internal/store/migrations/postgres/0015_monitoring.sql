-- Monitoring: a row of the server's own counters per node every
-- --monitor-interval (requests, 5xx answers and latency since the previous
-- row, and the state at that moment), kept for --monitor-retention; the
-- admin Monitoring page charts them.
CREATE TABLE monitor_samples (
    node               TEXT NOT NULL,
    at                 BIGINT NOT NULL,
    seconds            BIGINT NOT NULL,
    requests           BIGINT NOT NULL,
    errors_5xx         BIGINT NOT NULL,
    p50_us             BIGINT NOT NULL,
    p95_us             BIGINT NOT NULL,
    sandboxes_active   BIGINT NOT NULL,
    users_active       BIGINT NOT NULL,
    agent_spend_micros BIGINT NOT NULL,
    jobs_queued        BIGINT NOT NULL,
    jobs_running       BIGINT NOT NULL,
    jobs_failed        BIGINT NOT NULL,
    disk_free_bytes    BIGINT NOT NULL,
    disk_total_bytes   BIGINT NOT NULL,
    PRIMARY KEY (node, at)
);
CREATE INDEX monitor_samples_at ON monitor_samples(at);
