-- Invite links: an admin creates one, and signing up with its token works
-- even when sign-up is invite-only. Only a hash of the token is stored;
-- each is used at most once, before it expires.
CREATE TABLE invites (
    id         TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    used_by    TEXT
);
CREATE INDEX invites_created ON invites(created_at);
