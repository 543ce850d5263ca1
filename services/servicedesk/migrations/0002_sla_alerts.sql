-- SLA alerts: when each running clock reaches the at-risk share of its
-- target, and which alerts were raised. One row per ticket, target and
-- kind makes "at risk" and "breached" exactly once, however many worker
-- passes and replicas see the same clock.
ALTER TABLE tickets ADD COLUMN fr_risk timestamptz, ADD COLUMN res_risk timestamptz;
CREATE INDEX tickets_fr_risk_idx ON tickets (fr_risk) WHERE fr_risk IS NOT NULL;
CREATE INDEX tickets_res_risk_idx ON tickets (res_risk) WHERE res_risk IS NOT NULL;

CREATE TABLE sla_alerts (
    ticket_id   uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    -- 'first_response' or 'resolution'.
    target      text NOT NULL,
    -- 'AT_RISK' or 'BREACHED'.
    kind        text NOT NULL,
    create_time timestamptz NOT NULL,
    PRIMARY KEY (ticket_id, target, kind)
);
