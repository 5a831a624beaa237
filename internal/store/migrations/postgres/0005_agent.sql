-- The AI agent: one conversation (session) per project, the turns sent to
-- it and every event of every turn. mode, result and metrics are JSON;
-- an event's data is the agent's Event as JSON.
CREATE TABLE agent_sessions (
    project_id TEXT PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    data       BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE agent_turns (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL,
    prompt      TEXT NOT NULL,
    mode        TEXT NOT NULL DEFAULT '{}',
    status      TEXT NOT NULL,
    stop_reason TEXT NOT NULL DEFAULT '',
    result      TEXT NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX agent_turns_project ON agent_turns(project_id, created_at);

CREATE TABLE agent_events (
    turn_id TEXT NOT NULL REFERENCES agent_turns(id) ON DELETE CASCADE,
    seq     BIGINT NOT NULL,
    type    TEXT NOT NULL,
    data    TEXT NOT NULL,
    PRIMARY KEY (turn_id, seq)
);
