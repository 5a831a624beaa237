-- Custom domains of published projects: ownership proven by a DNS TXT
-- record (token), then a certificate obtained by ACME. A domain belongs to
-- one project at a time; the private key is sealed under the master key.
CREATE TABLE custom_domains (
    domain           TEXT PRIMARY KEY,
    project_id       TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    created_by       TEXT NOT NULL,
    token            TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'verified')),
    reason           TEXT NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    checked_at       INTEGER,
    verified_at      INTEGER,
    cert_status      TEXT NOT NULL DEFAULT 'none' CHECK (cert_status IN ('none', 'pending', 'issued', 'failed')),
    cert_error       TEXT NOT NULL DEFAULT '',
    cert_chain       TEXT NOT NULL DEFAULT '',
    cert_key_sealed  TEXT NOT NULL DEFAULT '',
    cert_not_after   INTEGER,
    cert_failures    INTEGER NOT NULL DEFAULT 0,
    cert_retry_at    INTEGER
);
CREATE INDEX custom_domains_project ON custom_domains(project_id);

-- ACME accounts, one per directory URL; the key is sealed under the master key.
CREATE TABLE acme_accounts (
    directory  TEXT PRIMARY KEY,
    key_sealed TEXT NOT NULL,
    url        TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
