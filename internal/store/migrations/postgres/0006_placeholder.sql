-- Placeholder so that harden's 0008 is contiguous on this branch; the lead drops it
-- at merge (0006 and 0007 belong to other branches).
SELECT 1;
