-- Interactions, follow-ups, care rules, touchpoints, the local projection of
-- customers, idempotency keys, the outbox and event-consumer cursors.

-- Touchpoints: where customers meet the company, and the journey stage each
-- belongs to.
CREATE TABLE touchpoints (
    id            text PRIMARY KEY,
    display_name  text NOT NULL,
    channel       text NOT NULL,
    journey_stage text NOT NULL DEFAULT '',
    description   text NOT NULL DEFAULT '',
    revision      bigint NOT NULL DEFAULT 1,
    create_time   timestamptz NOT NULL DEFAULT now(),
    update_time   timestamptz NOT NULL DEFAULT now()
);

INSERT INTO touchpoints (id, display_name, channel, journey_stage, description) VALUES
    ('trade-show',                'Trade show booth',           'EVENT',        'PROSPECT',       'First meetings at exhibitions and fairs'),
    ('website',                   'Website',                    'WEBSITE',      'PROSPECT',       'Product pages, contact and sign-up forms'),
    ('wechat-official-account',   'WeChat official account',    'SOCIAL_MEDIA', 'PROSPECT',       'Articles, menus and messages on WeChat'),
    ('hotline',                   'Customer hotline',           'PHONE',        'FIRST_PURCHASE', 'Inbound sales and service calls'),
    ('online-store',              'Online store',               'WEBSITE',      'FIRST_PURCHASE', 'Orders placed online'),
    ('store-visit',               'Store visit',                'MEETING',      'FIRST_PURCHASE', 'Visits to a physical store or showroom'),
    ('live-chat',                 'Live chat',                  'CHAT',         'REPEAT',         'Chat on the website or in the app'),
    ('after-sales-service',       'After-sales service',        'PHONE',        'REPEAT',         'Installation, repairs and returns'),
    ('email-newsletter',          'E-mail newsletter',          'EMAIL',        'REPEAT',         'Newsletters and offers by e-mail'),
    ('quarterly-business-review', 'Quarterly business review',  'MEETING',      'LOYAL',          'Account reviews with key customers'),
    ('loyalty-program',           'Loyalty program',            'OTHER',        'LOYAL',          'Points, tiers and member events'),
    ('retention-call',            'Retention call',             'PHONE',        'AT_RISK',        'Outreach to customers showing churn signals');

-- What the service knows of each customer, projected from the customer
-- service's event stream: enough to scope agents, evaluate care rules and
-- compute birthdays and anniversaries with set-based SQL.
CREATE TABLE customers (
    id              uuid PRIMARY KEY,
    display_name    text NOT NULL DEFAULT '',
    kind            text NOT NULL DEFAULT '',
    source          text NOT NULL DEFAULT '',
    lifecycle_stage text NOT NULL DEFAULT '',
    value_tier      text NOT NULL DEFAULT '',
    account_manager text NOT NULL DEFAULT '',
    tags            text[] NOT NULL DEFAULT '{}',
    birthday        text NOT NULL DEFAULT '',
    customer_since  timestamptz,
    deleted         boolean NOT NULL DEFAULT false,
    merged_into     uuid,
    event_sequence  bigint NOT NULL DEFAULT 0
);
CREATE INDEX customers_manager_idx ON customers (account_manager);

CREATE TABLE interactions (
    id                 uuid PRIMARY KEY,
    customer_id        uuid NOT NULL,
    channel            text NOT NULL,
    direction          text NOT NULL DEFAULT '',
    kind               text NOT NULL,
    occur_time         timestamptz NOT NULL,
    duration_ms        bigint NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
    subject            text NOT NULL DEFAULT '',
    summary            text NOT NULL DEFAULT '',
    agent              text NOT NULL DEFAULT '',
    touchpoint_id      text REFERENCES touchpoints (id),
    satisfaction       smallint NOT NULL DEFAULT 0 CHECK (satisfaction BETWEEN 0 AND 5),
    sentiment          text NOT NULL DEFAULT '',
    amount             numeric(20, 4),
    currency_code      text NOT NULL DEFAULT '',
    order_reference    text NOT NULL DEFAULT '',
    product_categories text[] NOT NULL DEFAULT '{}',
    lifecycle_stage    text NOT NULL DEFAULT '',
    follow_up_id       uuid,
    revision           bigint NOT NULL DEFAULT 1,
    create_time        timestamptz NOT NULL,
    update_time        timestamptz NOT NULL,
    delete_time        timestamptz,
    CHECK ((amount IS NULL) = (currency_code = ''))
);
-- Timeline of one customer, and the cross-customer feed, newest first.
CREATE INDEX interactions_customer_idx ON interactions (customer_id, occur_time DESC, id DESC);
CREATE INDEX interactions_time_idx ON interactions (occur_time DESC, id DESC);
CREATE INDEX interactions_agent_idx ON interactions (agent, occur_time DESC);
CREATE INDEX interactions_touchpoint_idx ON interactions (touchpoint_id);

CREATE TABLE care_rules (
    id                text PRIMARY KEY,
    display_name      text NOT NULL,
    occasion          text NOT NULL,
    dates             text[] NOT NULL DEFAULT '{}',
    lead_days         integer NOT NULL DEFAULT 0 CHECK (lead_days BETWEEN 0 AND 365),
    channel           text NOT NULL,
    message_template  text NOT NULL DEFAULT '',
    customer_filter   text NOT NULL DEFAULT '',
    fallback_assignee text NOT NULL DEFAULT '',
    active            boolean NOT NULL DEFAULT true,
    revision          bigint NOT NULL DEFAULT 1,
    create_time       timestamptz NOT NULL,
    update_time       timestamptz NOT NULL
);

CREATE TABLE follow_ups (
    id                  uuid PRIMARY KEY,
    customer_id         uuid NOT NULL,
    purpose             text NOT NULL,
    channel             text NOT NULL,
    assignee            text NOT NULL,
    due_time            timestamptz NOT NULL,
    recurrence_interval integer NOT NULL DEFAULT 0 CHECK (recurrence_interval >= 0),
    recurrence_unit     text NOT NULL DEFAULT '',
    state               text NOT NULL,
    interaction_id      uuid,
    care_rule_id        text,
    previous_id         uuid,
    cancel_reason       text NOT NULL DEFAULT '',
    message             text NOT NULL DEFAULT '',
    close_time          timestamptz,
    revision            bigint NOT NULL DEFAULT 1,
    create_time         timestamptz NOT NULL,
    update_time         timestamptz NOT NULL
);
CREATE INDEX follow_ups_customer_idx ON follow_ups (customer_id, due_time, id);
CREATE INDEX follow_ups_agenda_idx ON follow_ups (assignee, due_time, id);
-- The missed-follow-up sweep only looks at planned ones.
CREATE INDEX follow_ups_planned_idx ON follow_ups (due_time) WHERE state = 'PLANNED';

-- One care follow-up per rule, customer and occurrence, however many times
-- and on however many replicas the generator runs.
CREATE TABLE care_occurrences (
    care_rule_id text NOT NULL,
    customer_id  uuid NOT NULL,
    occurrence   date NOT NULL,
    follow_up_id uuid NOT NULL,
    create_time  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (care_rule_id, customer_id, occurrence)
);

CREATE TABLE idempotency_keys (
    method      text NOT NULL,
    request_id  text NOT NULL,
    fingerprint bytea NOT NULL,
    result      text NOT NULL DEFAULT '',
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (method, request_id)
);

CREATE TABLE outbox (
    sequence    bigserial PRIMARY KEY,
    id          uuid NOT NULL UNIQUE,
    type        text NOT NULL,
    subject     text NOT NULL,
    actor       text NOT NULL DEFAULT '',
    payload     bytea,
    create_time timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_subject_idx ON outbox (subject text_pattern_ops);

-- Where each followed event stream was read up to, advanced in the same
-- transaction as the effects of the events.
CREATE TABLE consumer_cursors (
    stream      text PRIMARY KEY,
    sequence    bigint NOT NULL,
    update_time timestamptz NOT NULL DEFAULT now()
);
