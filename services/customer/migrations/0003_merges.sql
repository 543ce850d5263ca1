-- What each merge changed, so that UnmergeCustomer can reverse it: the
-- merged customer and the survivor as they were just before, and the
-- points the merge moved. A row lives while the merge can be reversed; a
-- purge of either side drops it.
CREATE TABLE merges (
    merged_id       uuid PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    survivor_id     uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    merged_before   jsonb NOT NULL,
    survivor_before jsonb NOT NULL,
    points          bigint NOT NULL,
    actor           text NOT NULL,
    create_time     timestamptz NOT NULL
);
CREATE INDEX merges_survivor_idx ON merges (survivor_id);
CREATE INDEX merges_create_time_idx ON merges (create_time);
