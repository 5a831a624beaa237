-- Error tracking: errors grouped by fingerprint (panics and 5xx answers of
-- the server, uncaught errors of the browser), with their latest
-- occurrences (the newest 50 per group are kept).
CREATE TABLE error_groups (
    id              TEXT PRIMARY KEY,
    source          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    message         TEXT NOT NULL,
    route           TEXT NOT NULL,
    stack           TEXT NOT NULL,
    count           BIGINT NOT NULL,
    first_seen      BIGINT NOT NULL,
    last_seen       BIGINT NOT NULL,
    last_request_id TEXT NOT NULL,
    last_user_id    TEXT NOT NULL
);
CREATE INDEX error_groups_last_seen ON error_groups(last_seen);
CREATE TABLE error_events (
    id         TEXT PRIMARY KEY,
    group_id   TEXT NOT NULL REFERENCES error_groups(id) ON DELETE CASCADE,
    request_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    route      TEXT NOT NULL,
    url        TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    stack      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX error_events_group ON error_events(group_id, created_at);

-- Notifications: the in-app centre (read_at NULL: unread) and each user's
-- choice of the kinds that also reach them by email (no row: the default).
CREATE TABLE notifications (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    link       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at    BIGINT
);
CREATE INDEX notifications_user ON notifications(user_id, created_at);
CREATE TABLE notification_prefs (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind    TEXT NOT NULL,
    email   BIGINT NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- Incidents an admin posts on the public status page.
CREATE TABLE incidents (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    resolved_at BIGINT
);
CREATE INDEX incidents_created ON incidents(created_at);
