-- The data keys of the schema this is applied to, each wrapped by a
-- key-encryption key that never reaches the database (package envelope).
-- kek_id names the KEK that wrapped it, so a KEK rotation knows what to
-- re-wrap. Rows are never deleted while a value sealed under them may
-- remain; the newest 'data' key seals, the single 'index' key computes
-- blind indexes.
CREATE TABLE data_keys (
    id          integer PRIMARY KEY,
    purpose     text NOT NULL CHECK (purpose IN ('data', 'index')),
    kek_id      text NOT NULL,
    wrapped     bytea NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX data_keys_one_index_key ON data_keys (purpose) WHERE purpose = 'index';
