-- Placeholder so branch "billing" migrates on its own: the lead drops it at
-- merge (other branches own numbers 0010 and 0011).
SELECT 1;
