-- Prune walks the outbox in sequence order (a prefix of the sequence is
-- all it ever removes), so no query reads the create_time index, and every
-- event written paid for it: one index less per event of a bulk import.
DROP INDEX IF EXISTS outbox_create_time_idx;
