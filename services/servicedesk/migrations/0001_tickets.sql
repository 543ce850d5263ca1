-- The service desk: queues, SLA policies, tickets with their history and
-- comments.

CREATE TABLE queues (
    id                text PRIMARY KEY,
    display_name      text NOT NULL,
    description       text NOT NULL DEFAULT '',
    -- [{"user": "...", "available": true}, ...], in the order given.
    members           jsonb NOT NULL DEFAULT '[]',
    route_types       text[] NOT NULL DEFAULT '{}',
    route_channels    text[] NOT NULL DEFAULT '{}',
    route_value_tiers text[] NOT NULL DEFAULT '{}',
    routing_order     integer NOT NULL DEFAULT 0,
    complaint_queue   boolean NOT NULL DEFAULT false,
    -- Round-robin position among members with equally few tickets.
    last_assigned     text NOT NULL DEFAULT '',
    revision          bigint NOT NULL DEFAULT 1,
    create_time       timestamptz NOT NULL,
    update_time       timestamptz NOT NULL
);
-- "Which queues does this agent work?" on every scoped read.
CREATE INDEX queues_members_idx ON queues USING gin (members jsonb_path_ops);
-- At most one complaint queue.
CREATE UNIQUE INDEX queues_one_complaint_queue ON queues (complaint_queue) WHERE complaint_queue;

CREATE TABLE sla_policies (
    id                    text PRIMARY KEY,
    display_name          text NOT NULL,
    priorities            text[] NOT NULL DEFAULT '{}',
    types                 text[] NOT NULL DEFAULT '{}',
    value_tiers           text[] NOT NULL DEFAULT '{}',
    precedence            integer NOT NULL DEFAULT 0,
    first_response_target_ms bigint NOT NULL CHECK (first_response_target_ms > 0),
    resolution_target_ms  bigint NOT NULL CHECK (resolution_target_ms > 0),
    -- {"time_zone": ..., "week": [[{"Start":540,"End":720}], ...] (minutes, Sunday first),
    --  "holidays": [...], "make_up_days": [...]}
    calendar              jsonb NOT NULL,
    revision              bigint NOT NULL DEFAULT 1,
    create_time           timestamptz NOT NULL,
    update_time           timestamptz NOT NULL
);

CREATE TABLE tickets (
    id                 uuid PRIMARY KEY,
    customer_id        uuid NOT NULL,
    type               text NOT NULL,
    channel            text NOT NULL,
    subject            text NOT NULL,
    description        text NOT NULL DEFAULT '',
    priority           text NOT NULL,
    -- 0 LOW … 3 URGENT, for ordering and range filters.
    priority_rank      smallint NOT NULL,
    tags               text[] NOT NULL DEFAULT '{}',
    queue_id           text REFERENCES queues (id),
    assignee           text NOT NULL DEFAULT '',
    escalation_level   integer NOT NULL DEFAULT 0,
    interaction        text NOT NULL DEFAULT '',
    status             text NOT NULL,
    value_tier         text NOT NULL DEFAULT '',
    sla_policy_id      text REFERENCES sla_policies (id),
    -- The two SLA clocks (desk.Clock): target, business time elapsed,
    -- running since, due time while running, stop time.
    fr_target_ms       bigint NOT NULL DEFAULT 0,
    fr_elapsed_ms      bigint NOT NULL DEFAULT 0,
    fr_since           timestamptz,
    fr_due             timestamptz,
    fr_stop            timestamptz,
    res_target_ms      bigint NOT NULL DEFAULT 0,
    res_elapsed_ms     bigint NOT NULL DEFAULT 0,
    res_since          timestamptz,
    res_due            timestamptz,
    res_stop           timestamptz,
    root_cause         text NOT NULL DEFAULT '',
    resolution_summary text NOT NULL DEFAULT '',
    creator            text NOT NULL DEFAULT '',
    first_response_time timestamptz,
    resolve_time       timestamptz,
    close_time         timestamptz,
    revision           bigint NOT NULL DEFAULT 1,
    create_time        timestamptz NOT NULL,
    update_time        timestamptz NOT NULL,
    delete_time        timestamptz
);
CREATE INDEX tickets_create_idx ON tickets (create_time DESC, id DESC);
CREATE INDEX tickets_customer_idx ON tickets (customer_id, create_time DESC);
CREATE INDEX tickets_assignee_idx ON tickets (assignee) WHERE status IN ('NEW', 'OPEN', 'PENDING_CUSTOMER');
CREATE INDEX tickets_queue_idx ON tickets (queue_id, status);
-- The SLA worker looks for running clocks about to pass or past due.
CREATE INDEX tickets_fr_due_idx ON tickets (fr_due) WHERE fr_due IS NOT NULL;
CREATE INDEX tickets_res_due_idx ON tickets (res_due) WHERE res_due IS NOT NULL;

CREATE TABLE ticket_changes (
    sequence    bigserial PRIMARY KEY,
    ticket_id   uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    field       text NOT NULL,
    from_value  text NOT NULL DEFAULT '',
    to_value    text NOT NULL DEFAULT '',
    actor       text NOT NULL DEFAULT '',
    change_time timestamptz NOT NULL
);
CREATE INDEX ticket_changes_ticket_idx ON ticket_changes (ticket_id, sequence);

CREATE TABLE comments (
    id          uuid PRIMARY KEY,
    ticket_id   uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    author      text NOT NULL,
    visibility  text NOT NULL,
    body        text NOT NULL,
    create_time timestamptz NOT NULL
);
CREATE INDEX comments_ticket_idx ON comments (ticket_id, create_time, id);
