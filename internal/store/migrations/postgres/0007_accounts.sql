-- Accounts: disabled users and the last sign-in, sessions waiting for a
-- second factor, TOTP two-factor (the secret sealed by package secretbox,
-- the last accepted time-step for replay protection), one-time recovery
-- codes (SHA-256 of 120-bit codes), passkeys (WebAuthn credentials, the
-- library's credential as JSON) and the append-only security event log.
ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN last_login_at BIGINT;
ALTER TABLE sessions ADD COLUMN pending_mfa BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE user_totp (
    user_id    TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret     TEXT NOT NULL,
    enabled    BOOLEAN NOT NULL DEFAULT FALSE,
    last_step  BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at   BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE passkeys (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    credential   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX passkeys_user ON passkeys(user_id);

-- Passkey ceremonies in flight (registration or sign-in): the challenge
-- state between the two requests, a few minutes at most.
CREATE TABLE webauthn_ceremonies (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL,
    data       TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- No foreign keys: events outlive the users they name.
CREATE TABLE security_events (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL DEFAULT '',
    actor_id   TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    ip         TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX security_events_user ON security_events(user_id, created_at);
CREATE INDEX security_events_time ON security_events(created_at);
