-- Why and when the last change of a deployment's size failed (its new
-- instances did not start; the old ones kept serving at the old size):
-- kept so that every node, and the server after a restart, shows it;
-- cleared when a size is set again ('' and 0: none).
ALTER TABLE deployments ADD COLUMN resize_error TEXT NOT NULL DEFAULT '';
ALTER TABLE deployments ADD COLUMN resize_failed_at BIGINT NOT NULL DEFAULT 0;
