-- Retention visits owed to tier-A customers whose churn risk crossed the
-- threshold, written with the warning and delivered to the interaction
-- service by the lifecycle pass (one per crossing).
CREATE TABLE retention_visits (
    customer_id   uuid NOT NULL,
    crossing_time timestamptz NOT NULL,
    assignee      text NOT NULL DEFAULT '',
    purpose       text NOT NULL,
    PRIMARY KEY (customer_id, crossing_time)
);
