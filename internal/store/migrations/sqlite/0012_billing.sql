-- Billing: an append-only ledger of priced usage (money in integer
-- micro-units), its rollups per account, project, meter and day, credits,
-- accounts (plan, Stripe customer), the Stripe usage outbox and the Stripe
-- events already applied.
CREATE TABLE ledger_entries (
    id              TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    account_id      TEXT NOT NULL,
    project_id      TEXT NOT NULL DEFAULT '',
    meter           TEXT NOT NULL,
    dimension       TEXT NOT NULL DEFAULT '',
    quantity        INTEGER NOT NULL,
    unit            TEXT NOT NULL,
    amount_micros   INTEGER NOT NULL,
    day             TEXT NOT NULL,
    ref             TEXT NOT NULL DEFAULT '',
    note            TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL
);
CREATE INDEX ledger_entries_account_day ON ledger_entries(account_id, day);
CREATE INDEX ledger_entries_ref ON ledger_entries(ref);

CREATE TABLE ledger_rollups (
    account_id    TEXT NOT NULL,
    project_id    TEXT NOT NULL,
    meter         TEXT NOT NULL,
    day           TEXT NOT NULL,
    quantity      INTEGER NOT NULL,
    amount_micros INTEGER NOT NULL,
    events        INTEGER NOT NULL,
    PRIMARY KEY (account_id, day, meter, project_id)
);

CREATE TABLE billing_credits (
    id              TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    account_id      TEXT NOT NULL,
    amount_micros   INTEGER NOT NULL,
    reason          TEXT NOT NULL,
    actor           TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL
);
CREATE INDEX billing_credits_account ON billing_credits(account_id);

CREATE TABLE billing_accounts (
    account_id      TEXT PRIMARY KEY,
    plan            TEXT NOT NULL,
    stripe_customer TEXT NOT NULL DEFAULT '',
    plan_event_at   INTEGER NOT NULL DEFAULT 0,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE billing_outbox (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL,
    event_name      TEXT NOT NULL,
    value           INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    reported_at     INTEGER
);
CREATE INDEX billing_outbox_pending ON billing_outbox(reported_at, created_at);

CREATE TABLE stripe_events (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    created     INTEGER NOT NULL,
    applied_at  INTEGER NOT NULL
);
