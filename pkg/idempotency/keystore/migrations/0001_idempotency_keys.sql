-- Idempotency keys (AIP-155): the fingerprint of the first request and the
-- id of what it produced. The first services created this table in their
-- own first migration, hence IF NOT EXISTS.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    method      text NOT NULL,
    request_id  text NOT NULL,
    fingerprint bytea NOT NULL,
    result      text NOT NULL DEFAULT '',
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (method, request_id)
);
