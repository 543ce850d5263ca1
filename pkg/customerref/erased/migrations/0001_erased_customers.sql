-- Customers purged while this service followed them. A request that looked
-- the customer up just before the purge must not store records after the
-- follower erased theirs: the insert checks this table under the lock the
-- erasure holds (see package erased).
CREATE TABLE erased_customers (
    id         uuid PRIMARY KEY,
    erase_time timestamptz NOT NULL DEFAULT now()
);
