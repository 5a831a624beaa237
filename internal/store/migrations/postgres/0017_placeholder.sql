-- Placeholder: another branch brings the real migration 0017; drop this file when it lands.
SELECT 1;
