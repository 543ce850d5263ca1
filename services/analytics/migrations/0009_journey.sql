-- The journey map: where each interaction happened (its touchpoint) and
-- the customer's lifecycle stage then, and when customers changed stage.
ALTER TABLE records
    ADD COLUMN touchpoint text NOT NULL DEFAULT '',
    ADD COLUMN stage      text NOT NULL DEFAULT '';

-- Stage changes as the customer service recorded them. A replayed event
-- inserts nothing twice.
CREATE TABLE stage_transitions (
    customer_id uuid NOT NULL,
    stage       text NOT NULL,
    at          timestamptz NOT NULL,
    PRIMARY KEY (customer_id, at, stage)
);
