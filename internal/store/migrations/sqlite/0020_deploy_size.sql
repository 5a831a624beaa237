-- The size of a deployment's sandboxes (its instances, builds and
-- scheduled runs): default (the server's sandbox limits, as before sizes),
-- small, medium or large (package deploy, size.go).
ALTER TABLE deployments ADD COLUMN size TEXT NOT NULL DEFAULT 'default';
