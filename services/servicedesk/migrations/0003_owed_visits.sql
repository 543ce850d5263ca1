-- Follow-up visits (回访) owed to customers: for resolved complaints and
-- for low survey scores, written in the transaction of the change that
-- owes them and delivered to the interaction service by the worker: a
-- change that commits always gets its visit, one per ticket and reason,
-- however often it is retried or repeated.
CREATE TABLE owed_visits (
    ticket_id   uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    -- 'complaint' or 'low-score'.
    reason      text NOT NULL,
    customer_id uuid NOT NULL,
    -- Assignee when the customer has no account manager.
    fallback    text NOT NULL DEFAULT '',
    purpose     text NOT NULL,
    due_time    timestamptz NOT NULL,
    create_time timestamptz NOT NULL,
    PRIMARY KEY (ticket_id, reason)
);
