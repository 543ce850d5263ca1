-- Request ids belong to the caller who sent them: another caller who learns
-- an id (ledger entries show them) must not replay it. Keys from before
-- this migration have no caller and can no longer be replayed; they age
-- out with the retention like any other. The create_time index serves the
-- pruning of expired keys.
ALTER TABLE idempotency_keys ADD COLUMN caller text NOT NULL DEFAULT '';
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (caller, method, request_id);
CREATE INDEX idempotency_keys_create_time_idx ON idempotency_keys (create_time);
