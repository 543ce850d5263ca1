-- Webhooks: endpoints that receive the events of every service, and the
-- deliveries of those events with every attempt (the delivery log).

CREATE TABLE webhooks (
    id                           text PRIMARY KEY,
    display_name                 text NOT NULL DEFAULT '',
    target_uri                   text NOT NULL,
    event_types                  text[] NOT NULL,
    secret                       text NOT NULL,
    previous_secret              text NOT NULL DEFAULT '',
    previous_secret_expire_time  timestamptz,
    active                       boolean NOT NULL,
    disabled_reason              text NOT NULL DEFAULT '',
    consecutive_failures         integer NOT NULL DEFAULT 0,
    revision                     bigint NOT NULL DEFAULT 1,
    create_time                  timestamptz NOT NULL,
    update_time                  timestamptz NOT NULL
);

-- position is the order a webhook's deliveries are sent in (the order the
-- fan-out queued them). An event is queued once per webhook; only a
-- redelivery repeats it.
CREATE TABLE webhook_deliveries (
    position          bigserial PRIMARY KEY,
    id                uuid NOT NULL UNIQUE,
    webhook_id        text NOT NULL REFERENCES webhooks ON DELETE CASCADE,
    event_id          uuid NOT NULL,
    event_type        text NOT NULL,
    source            text NOT NULL,
    sequence          bigint NOT NULL DEFAULT 0,
    subject           text NOT NULL DEFAULT '',
    -- The customers the event names: erased with them.
    customers         uuid[] NOT NULL DEFAULT '{}',
    state             text NOT NULL,
    body              bytea NOT NULL,
    next_attempt_time timestamptz NOT NULL,
    redelivery        boolean NOT NULL DEFAULT false,
    create_time       timestamptz NOT NULL,
    complete_time     timestamptz
);
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (webhook_id, event_id) WHERE NOT redelivery AND event_type <> 'webhook.ping';
-- The head of each webhook's queue.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id, position) WHERE state = 'PENDING';
-- The delivery log, newest first; pruning.
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, position DESC);
CREATE INDEX webhook_deliveries_complete ON webhook_deliveries (complete_time) WHERE complete_time IS NOT NULL;
CREATE INDEX webhook_deliveries_customers ON webhook_deliveries USING gin (customers);

CREATE TABLE webhook_attempts (
    delivery_id      uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt          integer NOT NULL,
    attempt_time     timestamptz NOT NULL,
    status_code      integer NOT NULL,
    latency_ms       double precision NOT NULL,
    response_excerpt text NOT NULL DEFAULT '',
    error            text NOT NULL DEFAULT '',
    PRIMARY KEY (delivery_id, attempt)
);
