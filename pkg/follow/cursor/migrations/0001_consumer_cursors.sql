-- Where each followed event stream was read up to, advanced in the same
-- transaction as the effects of the events. The first services created
-- this table in their own first migration, hence IF NOT EXISTS.
CREATE TABLE IF NOT EXISTS consumer_cursors (
    stream      text PRIMARY KEY,
    sequence    bigint NOT NULL,
    update_time timestamptz NOT NULL DEFAULT now()
);
