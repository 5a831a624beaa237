-- Placeholder: another branch brings the real migration 0016; drop this file when it lands.
SELECT 1;
