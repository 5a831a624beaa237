-- Placeholder for migration 0006 (another branch's number); the lead drops it at merge.
SELECT 1;
