-- Churn early warning: each customer's latest risk score with its reasons
-- and value at risk, for ListAtRiskCustomers, and whether a warning was
-- raised for the current crossing of the threshold.
CREATE TABLE churn (
    customer_id     uuid PRIMARY KEY,
    score           smallint NOT NULL,
    reasons         text[] NOT NULL DEFAULT '{}',
    value_at_risk   numeric(20, 4) NOT NULL DEFAULT 0,
    account_manager text NOT NULL DEFAULT '',
    warned          boolean NOT NULL DEFAULT false,
    update_time     timestamptz NOT NULL
);
CREATE INDEX churn_manager_idx ON churn (account_manager, value_at_risk DESC) WHERE warned;
