-- Retention: events older than the service's outbox retention are pruned.
-- pruned_through is the highest sequence removed, so a consumer whose
-- cursor is older learns it missed events (OUT_OF_RANGE) instead of
-- silently skipping them. The create_time index finds what to prune.
CREATE TABLE outbox_retention (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    pruned_through bigint NOT NULL DEFAULT 0
);
INSERT INTO outbox_retention DEFAULT VALUES;
CREATE INDEX outbox_create_time_idx ON outbox (create_time);
