-- Where a merge moved each record from, so an unmerge can move exactly
-- the restored customer's records back (NULL: never moved).
ALTER TABLE records ADD COLUMN merged_from uuid;
ALTER TABLE tickets ADD COLUMN merged_from uuid;
ALTER TABLE answers ADD COLUMN merged_from uuid;
