-- Segments: AIP-160 filters over customer_facts, with their members kept
-- current as events arrive.

-- One row per live customer: the fields segment filters may name (see the
-- allow-list in the store). Aggregates are per customer (LATERAL), so the
-- view serves one customer's re-evaluation as well as a whole segment's.
CREATE VIEW customer_facts AS
SELECT c.id AS customer_id, c.lifecycle_stage, c.value_tier, c.account_manager, c.loyalty_points,
       coalesce(s.abc, 'C') AS abc, coalesce(s.recency, 0) AS recency, coalesce(s.frequency, 0) AS frequency,
       coalesce(s.monetary, 0) AS monetary,
       p.days_since_last_purchase, p.purchases_90d, p.purchases_12m, p.purchases_lifetime,
       k.open_tickets, k.complaints_90d, a.average_csat, a.last_nps
FROM customers c
LEFT JOIN scores s ON s.customer_id = c.id
CROSS JOIN LATERAL (
    SELECT extract(day FROM now() - max(r.occur_time))::int AS days_since_last_purchase,
           count(*) FILTER (WHERE r.occur_time >= now() - interval '90 days') AS purchases_90d,
           count(*) FILTER (WHERE r.occur_time >= now() - interval '12 months') AS purchases_12m,
           count(*) AS purchases_lifetime
    FROM records r WHERE r.customer_id = c.id AND r.kind = 'PURCHASE' AND NOT r.deleted) p
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE t.status IN ('NEW', 'OPEN', 'PENDING_CUSTOMER')) AS open_tickets,
           count(*) FILTER (WHERE t.type = 'COMPLAINT' AND t.create_time >= now() - interval '90 days') AS complaints_90d
    FROM tickets t WHERE t.customer_id = c.id AND NOT t.deleted) k
CROSS JOIN LATERAL (
    SELECT avg(score) FILTER (WHERE kind = 'CSAT') AS average_csat,
           (array_agg(score ORDER BY answer_time DESC) FILTER (WHERE kind = 'NPS'))[1] AS last_nps
    FROM answers WHERE customer_id = c.id) a
WHERE NOT c.deleted;

CREATE TABLE segments (
    id           text PRIMARY KEY,
    display_name text NOT NULL,
    description  text NOT NULL DEFAULT '',
    filter       text NOT NULL,
    builtin      boolean NOT NULL DEFAULT false,
    revision     bigint NOT NULL DEFAULT 1,
    create_time  timestamptz NOT NULL DEFAULT now(),
    update_time  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
    segment_id  text NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    customer_id uuid NOT NULL,
    enter_time  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (segment_id, customer_id)
);
CREATE INDEX memberships_customer_idx ON memberships (customer_id);

-- Kehu's own segments, for the seed's categories.
INSERT INTO segments (id, display_name, description, filter, builtin) VALUES
    ('high-value', 'High value', 'ABC tier A: the customers making the first 80% of 12-month revenue', 'abc = "A"', true),
    ('medium-value', 'Medium value', 'ABC tier B', 'abc = "B"', true),
    ('low-value', 'Low value', 'ABC tier C', 'abc = "C"', true),
    ('new', 'New customers', 'First purchase made', 'lifecycle_stage = FIRST_PURCHASE', true),
    ('repeat', 'Repeat customers', 'Bought more than once', 'lifecycle_stage = REPEAT', true),
    ('loyal', 'Loyal customers', 'Lifecycle stage LOYAL', 'lifecycle_stage = LOYAL', true),
    ('at-risk-high-value', 'At-risk high value', 'Tier A, no purchase for 90 days', 'abc = "A" AND days_since_last_purchase > 90', true),
    ('dissatisfied', 'Dissatisfied', 'Average CSAT 2.5 or less, or two complaints in 90 days', 'average_csat <= 2.5 OR complaints_90d >= 2', true),
    ('dormant', 'Dormant', 'No purchase for 180 days', 'days_since_last_purchase > 180', true);
