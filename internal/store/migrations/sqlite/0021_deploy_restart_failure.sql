-- Why and when the last restart of a deployment's instances with changed
-- production secrets failed (the instances before it kept serving): kept
-- so that every node, and the server after a restart, shows it; cleared
-- by the next restart or activation that succeeds ('' and 0: none).
ALTER TABLE deployments ADD COLUMN secrets_restart_error TEXT NOT NULL DEFAULT '';
ALTER TABLE deployments ADD COLUMN secrets_restart_failed_at BIGINT NOT NULL DEFAULT 0;
