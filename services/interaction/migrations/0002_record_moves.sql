-- Every move of an interaction or follow-up by a customer merge: from which
-- customer to which, at which customer event. customer.unmerged moves back
-- exactly the records whose latest move came from the restored customer;
-- older moves stay for a merge further back in a chain.
CREATE TABLE record_moves (
    record_kind   text NOT NULL CHECK (record_kind IN ('interaction', 'follow_up')),
    record_id     uuid NOT NULL,
    from_customer uuid NOT NULL,
    to_customer   uuid NOT NULL,
    move_sequence bigint NOT NULL,
    PRIMARY KEY (record_kind, record_id, move_sequence)
);
CREATE INDEX record_moves_pair_idx ON record_moves (to_customer, from_customer);
