-- Follow-up visits (回访) and care greetings (follow-ups a care rule
-- created), for the care and follow-up dashboard.
CREATE TABLE follow_ups (
    id          uuid PRIMARY KEY,
    customer_id uuid NOT NULL,
    assignee    text NOT NULL DEFAULT '',
    care_rule   text NOT NULL DEFAULT '',
    state       text NOT NULL,
    due_time    timestamptz NOT NULL,
    close_time  timestamptz,
    merged_from uuid
);
CREATE INDEX follow_ups_due_idx ON follow_ups (due_time);
CREATE INDEX follow_ups_customer_idx ON follow_ups (customer_id);
