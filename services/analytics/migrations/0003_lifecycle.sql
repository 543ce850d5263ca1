-- Lifecycle auto-advance: when a person last set a customer's stage (their
-- choice stands for a while), and the stage changes analytics proposes,
-- written after the facts changed and delivered to the customer service by
-- the worker.
ALTER TABLE customers ADD COLUMN manual_stage_time timestamptz;

CREATE TABLE stage_proposals (
    customer_id uuid PRIMARY KEY,
    stage       text NOT NULL,
    reason      text NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now()
);
