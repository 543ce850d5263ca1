-- Repeated personal-data reads are summed up (see package audit): an
-- entry may stand for several calls, the first of which finished at
-- first_call_time (NULL for an entry of one call).
ALTER TABLE entries
    ADD COLUMN call_count integer NOT NULL DEFAULT 1 CHECK (call_count >= 1),
    ADD COLUMN first_call_time timestamptz;
