-- Every move of a ticket by a customer merge: from which customer to
-- which, at which customer event. customer.unmerged moves back exactly the
-- tickets whose latest move came from the restored customer.
CREATE TABLE ticket_moves (
    ticket_id     uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    from_customer uuid NOT NULL,
    to_customer   uuid NOT NULL,
    move_sequence bigint NOT NULL,
    PRIMARY KEY (ticket_id, move_sequence)
);
CREATE INDEX ticket_moves_pair_idx ON ticket_moves (to_customer, from_customer);
