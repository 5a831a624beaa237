-- Placeholder: another branch brings the real migration 0015; drop this file when it lands.
SELECT 1;
