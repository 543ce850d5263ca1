-- The outbox of the schema it is applied to. The first services created
-- this table in their own first migration, hence IF NOT EXISTS; the index
-- is brought to one shape everywhere: text_pattern_ops serves the prefix
-- LIKE of Erase whatever the database's collation.
CREATE TABLE IF NOT EXISTS outbox (
    sequence    bigserial PRIMARY KEY,
    id          uuid NOT NULL UNIQUE,
    type        text NOT NULL,
    subject     text NOT NULL,
    actor       text NOT NULL DEFAULT '',
    payload     bytea,
    create_time timestamptz NOT NULL DEFAULT now()
);

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_indexes
                   WHERE schemaname = current_schema() AND indexname = 'outbox_subject_idx'
                     AND indexdef LIKE '%text_pattern_ops%') THEN
        DROP INDEX IF EXISTS outbox_subject_idx;
        CREATE INDEX outbox_subject_idx ON outbox (subject text_pattern_ops);
    END IF;
END $$;
