-- Deployment settings changed on the live deployment: an autoscale
-- deployment's idle timeout of its own (0: the server's --deploy-idle),
-- and when its instances were last restarted because a production secret
-- changed (0: never).
ALTER TABLE deployments ADD COLUMN idle_timeout_s INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deployments ADD COLUMN secrets_restarted_at INTEGER NOT NULL DEFAULT 0;
