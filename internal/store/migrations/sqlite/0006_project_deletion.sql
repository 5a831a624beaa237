-- A project being deleted is invisible to everyone; its deletion finishes
-- on the next start if the server stopped half-way.
ALTER TABLE projects ADD COLUMN deleting_at INTEGER;
