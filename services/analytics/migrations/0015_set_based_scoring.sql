-- customer_facts, computed for everyone at once: the same columns and
-- values, but each source aggregated in one pass grouped by customer
-- rather than looked up per customer. Whole-model passes (RecomputeAll's
-- segment evaluation) read this; per-customer evaluation keeps the view
-- of laterals, which probes a few customers' rows by index.
CREATE VIEW customer_facts_all AS
WITH p AS (
    SELECT r.customer_id, extract(day FROM now() - max(r.occur_time))::int AS days_since_last_purchase,
           count(*) FILTER (WHERE r.occur_time >= now() - interval '90 days') AS purchases_90d,
           count(*) FILTER (WHERE r.occur_time >= now() - interval '12 months') AS purchases_12m,
           count(*) AS purchases_lifetime
    FROM records r WHERE r.kind = 'PURCHASE' AND NOT r.deleted GROUP BY r.customer_id
), k AS (
    SELECT t.customer_id, count(*) FILTER (WHERE t.status IN ('NEW', 'OPEN', 'PENDING_CUSTOMER')) AS open_tickets,
           count(*) FILTER (WHERE t.type = 'COMPLAINT' AND t.create_time >= now() - interval '90 days') AS complaints_90d
    FROM tickets t WHERE NOT t.deleted GROUP BY t.customer_id
), a AS (
    SELECT customer_id, avg(score) FILTER (WHERE kind = 'CSAT') AS average_csat,
           (array_agg(score ORDER BY answer_time DESC) FILTER (WHERE kind = 'NPS'))[1] AS last_nps
    FROM answers GROUP BY customer_id
)
SELECT c.id AS customer_id, c.lifecycle_stage, c.value_tier, c.account_manager, c.loyalty_points,
       coalesce(s.abc, 'C') AS abc, coalesce(s.recency, 0) AS recency, coalesce(s.frequency, 0) AS frequency,
       coalesce(s.monetary, 0) AS monetary,
       p.days_since_last_purchase, coalesce(p.purchases_90d, 0) AS purchases_90d, coalesce(p.purchases_12m, 0) AS purchases_12m,
       coalesce(p.purchases_lifetime, 0) AS purchases_lifetime,
       coalesce(k.open_tickets, 0) AS open_tickets, coalesce(k.complaints_90d, 0) AS complaints_90d, a.average_csat, a.last_nps,
       c.birth_month <> 0 AND c.birth_month = extract(month FROM now())::int AS birthday_this_month,
       c.needs, c.price_sensitivity
FROM customers c
LEFT JOIN scores s ON s.customer_id = c.id
LEFT JOIN p ON p.customer_id = c.id
LEFT JOIN k ON k.customer_id = c.id
LEFT JOIN a ON a.customer_id = c.id
WHERE NOT c.deleted;

-- The purchases index carries what the value distribution, the RFM grid
-- and the scoring pass read of each purchase (customer, amount), so they
-- scan the period's index entries only: the records table is ordered by
-- arrival, not by time, and reading a year of purchases from it touched
-- most of its pages.
CREATE INDEX records_purchase_sums_idx ON records (currency_code, occur_time) INCLUDE (customer_id, amount)
    WHERE kind = 'PURCHASE' AND NOT deleted;
DROP INDEX records_purchases_idx;
