-- Service KPIs: each ticket's queue, first response, and how its SLA
-- targets ended (MET, BREACHED, or '' while running or without a policy).
ALTER TABLE tickets
    ADD COLUMN queue               text NOT NULL DEFAULT '',
    ADD COLUMN first_response_time timestamptz,
    ADD COLUMN first_response_sla  text NOT NULL DEFAULT '',
    ADD COLUMN resolution_sla      text NOT NULL DEFAULT '';
CREATE INDEX tickets_create_time_idx ON tickets (create_time);
