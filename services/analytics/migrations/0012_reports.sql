-- Saved reports: a dashboard, its parameters and schedule, the access of
-- whoever created it (runs see what they may see), and the latest result
-- (the dashboard's protobuf message in an Any).
CREATE TABLE reports (
    id             text PRIMARY KEY,
    display_name   text NOT NULL,
    dashboard      text NOT NULL,
    period_seconds bigint NOT NULL,
    segment        text NOT NULL DEFAULT '',
    account_manager text NOT NULL DEFAULT '',
    granularity    text NOT NULL DEFAULT '',
    currency_code  text NOT NULL DEFAULT '',
    schedule       text NOT NULL,
    time_zone      text NOT NULL,
    creator        text NOT NULL,
    creator_roles  text[] NOT NULL,
    next_run_time  timestamptz NOT NULL,
    last_run_time  timestamptz,
    last_result    bytea,
    revision       bigint NOT NULL DEFAULT 1,
    create_time    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reports_due_idx ON reports (next_run_time);
