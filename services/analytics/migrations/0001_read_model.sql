-- The analytics read model: what the customer, interaction and service-desk
-- services said happened, one row per source record, and the scores of the
-- latest scoring pass.

CREATE TABLE customers (
    id              uuid PRIMARY KEY,
    display_name    text NOT NULL DEFAULT '',
    lifecycle_stage text NOT NULL DEFAULT '',
    value_tier      text NOT NULL DEFAULT '',
    account_manager text NOT NULL DEFAULT '',
    loyalty_points  bigint NOT NULL DEFAULT 0,
    deleted         boolean NOT NULL DEFAULT false
);

-- Interactions, purchases and refunds (amount and currency set for money).
CREATE TABLE records (
    id            uuid PRIMARY KEY,
    customer_id   uuid NOT NULL,
    channel       text NOT NULL DEFAULT '',
    kind          text NOT NULL DEFAULT '',
    occur_time    timestamptz NOT NULL,
    amount        numeric(20, 4),
    currency_code text NOT NULL DEFAULT '',
    satisfaction  smallint NOT NULL DEFAULT 0,
    deleted       boolean NOT NULL DEFAULT false
);
CREATE INDEX records_customer_idx ON records (customer_id, occur_time DESC);
-- The scoring pass reads purchases of one currency over a year.
CREATE INDEX records_purchases_idx ON records (currency_code, occur_time) WHERE kind = 'PURCHASE' AND NOT deleted;

CREATE TABLE tickets (
    id           uuid PRIMARY KEY,
    customer_id  uuid NOT NULL,
    type         text NOT NULL,
    status       text NOT NULL,
    create_time  timestamptz NOT NULL,
    resolve_time timestamptz,
    deleted      boolean NOT NULL DEFAULT false
);
CREATE INDEX tickets_customer_idx ON tickets (customer_id);

CREATE TABLE answers (
    survey_id   uuid PRIMARY KEY,
    ticket_id   uuid NOT NULL,
    customer_id uuid NOT NULL,
    kind        text NOT NULL,
    score       smallint NOT NULL,
    answer_time timestamptz NOT NULL
);
CREATE INDEX answers_customer_idx ON answers (customer_id, answer_time DESC);

-- Results of the latest scoring pass (RecomputeAll, the scoring worker).
CREATE TABLE scores (
    customer_id uuid PRIMARY KEY,
    recency     smallint NOT NULL DEFAULT 0,
    frequency   smallint NOT NULL DEFAULT 0,
    monetary    smallint NOT NULL DEFAULT 0,
    abc         text NOT NULL DEFAULT 'C',
    share_12m   double precision NOT NULL DEFAULT 0,
    cumulative  double precision NOT NULL DEFAULT 0,
    score_time  timestamptz NOT NULL
);
