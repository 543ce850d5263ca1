-- Follow-up visits (回访) owed for resolved complaints, written in the
-- transaction that resolves the complaint and delivered to the interaction
-- service by the worker: a resolve that commits always gets its visit,
-- one per ticket, however often it is retried or re-resolved.
CREATE TABLE complaint_visits (
    ticket_id   uuid PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    customer_id uuid NOT NULL,
    -- Assignee when the customer has no account manager.
    fallback    text NOT NULL DEFAULT '',
    purpose     text NOT NULL,
    due_time    timestamptz NOT NULL,
    create_time timestamptz NOT NULL
);
