-- Placeholder for another branch's migration 0010 (the lead renumbers at merge).
SELECT 1;
