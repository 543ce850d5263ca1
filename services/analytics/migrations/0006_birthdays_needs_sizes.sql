-- Birthdays and needs for segments, personal segments, and segment sizes
-- over time.

-- Only the month of a birthday: all a segment needs, and less personal
-- data kept than the customer service's full date.
ALTER TABLE customers
    ADD COLUMN birth_month       smallint NOT NULL DEFAULT 0,
    ADD COLUMN needs             text[] NOT NULL DEFAULT '{}',
    ADD COLUMN price_sensitivity text NOT NULL DEFAULT '';

-- A personal segment's filter names personal data (the birthday): masked
-- callers (analysts, viewers) do not see it at all.
ALTER TABLE segments ADD COLUMN personal boolean NOT NULL DEFAULT false;

-- Columns can only be added at the end of a view.
CREATE OR REPLACE VIEW customer_facts AS
SELECT c.id AS customer_id, c.lifecycle_stage, c.value_tier, c.account_manager, c.loyalty_points,
       coalesce(s.abc, 'C') AS abc, coalesce(s.recency, 0) AS recency, coalesce(s.frequency, 0) AS frequency,
       coalesce(s.monetary, 0) AS monetary,
       p.days_since_last_purchase, p.purchases_90d, p.purchases_12m, p.purchases_lifetime,
       k.open_tickets, k.complaints_90d, a.average_csat, a.last_nps,
       c.birth_month <> 0 AND c.birth_month = extract(month FROM now())::int AS birthday_this_month,
       c.needs, c.price_sensitivity
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

INSERT INTO segments (id, display_name, description, filter, builtin, personal) VALUES
    ('birthdays-this-month', 'Birthdays this month', 'Customers whose birthday falls in the current month (care greetings)', 'birthday_this_month = true', true, true),
    ('functional-needs', 'Functional needs', 'Driven by what the product does', 'needs:"FUNCTIONAL"', true, false),
    ('emotional-needs', 'Emotional needs', 'Driven by how the product and service make them feel', 'needs:"EMOTIONAL"', true, false),
    ('social-needs', 'Social needs', 'Driven by status, belonging or recognition', 'needs:"SOCIAL"', true, false),
    ('price-sensitive', 'Price-sensitive', 'Weigh price over quality', 'price_sensitivity = PRICE', true, false),
    ('quality-seeking', 'Quality-seeking', 'Weigh quality over price', 'price_sensitivity = QUALITY', true, false);

-- A segment's member count at the last measurement of each day (UTC).
CREATE TABLE segment_sizes (
    segment_id   text NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    day          date NOT NULL,
    member_count bigint NOT NULL,
    PRIMARY KEY (segment_id, day)
);
