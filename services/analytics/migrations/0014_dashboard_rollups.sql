-- Pre-aggregates of the journey map, the lifecycle funnel and cohort
-- retention, so that they answer from a few thousand rows instead of the
-- read model's millions. Their periods are whole months in UTC, which is
-- what makes every figure exact from month rows:
--
-- * distinct customers over [a, b): each customer's row of a month keeps
--   the previous month they were active in the same cell (prev_month); a
--   customer is counted once in [a, b) by the row with month in [a, b)
--   and prev_month < a;
-- * "moved on before the period's end": the month of the first later
--   move (conv_month, left_month) compared with b;
-- * medians: the exact durations (microseconds) of the rows that count,
--   kept as sorted arrays per row (a few hundred per row), from which the
--   store picks the median.
--
-- Every figure is a sum over customers of what one customer contributes,
-- computed from that customer's rows alone (records, stage changes, the
-- customer's account manager and deletion). A follower batch takes the
-- contributions of its customers before it changes anything
-- (rollups_before) and after (rollups_after), and adds the difference, in
-- the same transaction; rollups_rebuild recomputes everything.
--
-- Sentinels keep the keys NOT NULL: prev_month '-infinity' (no earlier
-- month), conv_month and left_month 'infinity' (never moved on / left).

CREATE TABLE journey_rollup (
    account_manager text NOT NULL,
    stage           text NOT NULL,
    touchpoint      text NOT NULL,
    month           date NOT NULL,
    prev_month      date NOT NULL,
    conv_month      date NOT NULL,
    customers       bigint NOT NULL,
    interactions    bigint NOT NULL,
    complaints      bigint NOT NULL,
    rated           bigint NOT NULL,
    rating_sum      bigint NOT NULL,
    -- From the customers' first interaction of the month at the cell to
    -- their first later move on; empty when conv_month is 'infinity'.
    waits           bigint[] NOT NULL,
    PRIMARY KEY (month, account_manager, stage, touchpoint, prev_month, conv_month)
);

CREATE TABLE funnel_rollup (
    account_manager text NOT NULL,
    stage           text NOT NULL,
    month           date NOT NULL,
    conv_month      date NOT NULL,
    left_month      date NOT NULL,
    entries         bigint NOT NULL,
    -- Time in the stage of the entries that left it (the next stage
    -- change); empty when left_month is 'infinity'.
    stays           bigint[] NOT NULL,
    PRIMARY KEY (month, account_manager, stage, conv_month, left_month)
);

-- A batch empties few rows; these find them without a scan.
CREATE INDEX journey_rollup_empty ON journey_rollup (month) WHERE customers = 0;
CREATE INDEX funnel_rollup_empty ON funnel_rollup (month) WHERE entries = 0;

CREATE TABLE cohort_rollup (
    account_manager text NOT NULL,
    cohort          date NOT NULL,
    month           date NOT NULL,
    customers       bigint NOT NULL,
    PRIMARY KEY (cohort, account_manager, month)
);
CREATE INDEX cohort_rollup_empty ON cohort_rollup (cohort) WHERE customers = 0;

-- The UTC month of a timestamp, as the first day of it.
CREATE FUNCTION utc_month(t timestamptz) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN date_trunc('month', t AT TIME ZONE 'UTC')::date;

-- The stages that count as moving on from stage: the later stages of the
-- funnel, or buying again after AT_RISK and CHURNED; none from LOYAL.
CREATE FUNCTION moved_on(stage text) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE stage
        WHEN 'PROSPECT' THEN ARRAY['FIRST_PURCHASE', 'REPEAT', 'LOYAL']
        WHEN 'FIRST_PURCHASE' THEN ARRAY['REPEAT', 'LOYAL']
        WHEN 'REPEAT' THEN ARRAY['LOYAL']
        WHEN 'AT_RISK' THEN ARRAY['REPEAT', 'LOYAL']
        WHEN 'CHURNED' THEN ARRAY['FIRST_PURCHASE', 'REPEAT', 'LOYAL']
        ELSE ARRAY[]::text[] END;

-- What the customers ids (all, for NULL) contribute to journey_rollup: a
-- row per customer, cell and month they were active in it.
CREATE FUNCTION journey_of(ids uuid[]) RETURNS TABLE (
    account_manager text, stage text, touchpoint text, month date, prev_month date, conv_month date,
    interactions bigint, complaints bigint, rated bigint, rating_sum bigint, wait bigint
) LANGUAGE sql STABLE AS $$
    WITH months AS (
        SELECT c.account_manager, r.customer_id, r.stage, r.touchpoint, utc_month(r.occur_time) AS month,
               min(r.occur_time) AS first, count(*) AS interactions,
               count(*) FILTER (WHERE r.kind = 'COMPLAINT_MENTION') AS complaints,
               count(*) FILTER (WHERE r.satisfaction BETWEEN 1 AND 5) AS rated,
               coalesce(sum(r.satisfaction) FILTER (WHERE r.satisfaction BETWEEN 1 AND 5), 0) AS rating_sum
        FROM records r JOIN customers c ON c.id = r.customer_id
        WHERE NOT r.deleted AND NOT c.deleted AND r.touchpoint <> '' AND r.stage <> ''
          AND (ids IS NULL OR r.customer_id = ANY (ids) AND c.id = ANY (ids))
        GROUP BY 1, 2, 3, 4, 5
    )
    SELECT m.account_manager, m.stage, m.touchpoint, m.month,
           coalesce(lag(m.month) OVER (PARTITION BY m.customer_id, m.stage, m.touchpoint ORDER BY m.month), '-infinity'),
           coalesce(utc_month(v.at), 'infinity'), m.interactions, m.complaints, m.rated, m.rating_sum,
           (extract(epoch FROM v.at - m.first) * 1000000)::bigint
    FROM months m LEFT JOIN LATERAL (
        SELECT min(t.at) AS at FROM stage_transitions t
        WHERE t.customer_id = m.customer_id AND t.at > m.first AND t.stage = ANY (moved_on(m.stage))
    ) v ON true
$$;

-- What the customers ids (all, for NULL) contribute to funnel_rollup: a
-- row per stage entry.
CREATE FUNCTION funnel_of(ids uuid[]) RETURNS TABLE (
    account_manager text, stage text, month date, conv_month date, left_month date, stay bigint
) LANGUAGE sql STABLE AS $$
    WITH entries AS (
        SELECT c.account_manager, t.customer_id, t.stage, t.at,
               lead(t.at) OVER (PARTITION BY t.customer_id ORDER BY t.at, t.stage) AS left_at
        FROM stage_transitions t JOIN customers c ON c.id = t.customer_id
        WHERE NOT c.deleted AND (ids IS NULL OR t.customer_id = ANY (ids) AND c.id = ANY (ids))
    )
    SELECT e.account_manager, e.stage, utc_month(e.at),
           coalesce((SELECT utc_month(min(n.at)) FROM stage_transitions n
                     WHERE n.customer_id = e.customer_id AND n.at > e.at AND n.stage = ANY (moved_on(e.stage))), 'infinity'),
           coalesce(utc_month(e.left_at), 'infinity'),
           (extract(epoch FROM e.left_at - e.at) * 1000000)::bigint
    FROM entries e
$$;

-- What the customers ids (all, for NULL) contribute to cohort_rollup: a
-- row per customer and month with a purchase, with the month of their
-- first.
CREATE FUNCTION cohort_of(ids uuid[]) RETURNS TABLE (account_manager text, cohort date, month date)
LANGUAGE sql STABLE AS $$
    WITH bought AS (
        SELECT DISTINCT c.account_manager, r.customer_id, utc_month(r.occur_time) AS month
        FROM records r JOIN customers c ON c.id = r.customer_id
        WHERE r.kind = 'PURCHASE' AND NOT r.deleted AND r.currency_code <> '' AND NOT c.deleted
          AND (ids IS NULL OR r.customer_id = ANY (ids) AND c.id = ANY (ids))
    )
    SELECT account_manager, min(month) OVER (PARTITION BY customer_id), month FROM bought
$$;

-- The multiset cur + plus - minus, sorted.
CREATE FUNCTION multiset_update(cur bigint[], plus bigint[], minus bigint[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(w ORDER BY w), '{}') FROM (
        SELECT unnest(cur || plus) EXCEPT ALL SELECT unnest(minus)) x(w)
$$;

-- rollups_before keeps what the customers ids contribute now, in the
-- session's temporary tables (emptied at commit); rollups_after adds to the rollups what
-- they contribute since, less what they contributed before. Changes are
-- written in key order, so that concurrent batches lock shared rows in
-- the same order, and last in the batch, so those locks are held briefly.
CREATE FUNCTION rollups_before(ids uuid[]) RETURNS void LANGUAGE plpgsql
-- Planned for the ids at hand: a generic plan would not use the
-- customer indexes (nor would a plan joining all customers, hence the ids
-- on both sides of the joins above); compiling a few thousand rows' plan
-- to machine code would take longer than running it.
SET plan_cache_mode = force_custom_plan SET jit = off AS $$
BEGIN
    -- Once per session: creating them per batch would churn the catalog.
    IF to_regclass('pg_temp.journey_before') IS NULL THEN
        CREATE TEMP TABLE journey_before ON COMMIT DELETE ROWS AS SELECT * FROM journey_of('{}') WITH NO DATA;
        CREATE TEMP TABLE funnel_before ON COMMIT DELETE ROWS AS SELECT * FROM funnel_of('{}') WITH NO DATA;
        CREATE TEMP TABLE cohort_before ON COMMIT DELETE ROWS AS SELECT * FROM cohort_of('{}') WITH NO DATA;
    END IF;
    INSERT INTO journey_before SELECT * FROM journey_of(ids);
    INSERT INTO funnel_before SELECT * FROM funnel_of(ids);
    INSERT INTO cohort_before SELECT * FROM cohort_of(ids);
END $$;

CREATE FUNCTION rollups_after(ids uuid[]) RETURNS void LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan SET jit = off AS $$
BEGIN
    WITH now_ AS (SELECT * FROM journey_of(ids)),
    d AS (
        SELECT 1 AS sign, * FROM (SELECT * FROM now_ EXCEPT ALL SELECT * FROM journey_before) p
        UNION ALL
        SELECT -1, * FROM (SELECT * FROM journey_before EXCEPT ALL SELECT * FROM now_) m
    )
    INSERT INTO journey_rollup AS j
    SELECT account_manager, stage, touchpoint, month, prev_month, conv_month,
           sum(sign), sum(sign * interactions), sum(sign * complaints), sum(sign * rated), sum(sign * rating_sum),
           -- The durations to add, then those to remove encoded as
           -- -wait - 1 (durations are never negative), split again below.
           coalesce(array_agg(wait ORDER BY wait) FILTER (WHERE sign > 0 AND wait IS NOT NULL), '{}')
               || coalesce(array_agg(-wait - 1) FILTER (WHERE sign < 0 AND wait IS NOT NULL), '{}')
    FROM d GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 4, 1, 2, 3, 5, 6
    ON CONFLICT (month, account_manager, stage, touchpoint, prev_month, conv_month) DO UPDATE SET
        customers = j.customers + excluded.customers, interactions = j.interactions + excluded.interactions,
        complaints = j.complaints + excluded.complaints, rated = j.rated + excluded.rated,
        rating_sum = j.rating_sum + excluded.rating_sum,
        waits = multiset_update(j.waits, ARRAY(SELECT w FROM unnest(excluded.waits) w WHERE w >= 0),
                                ARRAY(SELECT -w - 1 FROM unnest(excluded.waits) w WHERE w < 0));
    DELETE FROM journey_rollup WHERE customers = 0;

    WITH now_ AS (SELECT * FROM funnel_of(ids)),
    d AS (
        SELECT 1 AS sign, * FROM (SELECT * FROM now_ EXCEPT ALL SELECT * FROM funnel_before) p
        UNION ALL
        SELECT -1, * FROM (SELECT * FROM funnel_before EXCEPT ALL SELECT * FROM now_) m
    )
    INSERT INTO funnel_rollup AS f
    SELECT account_manager, stage, month, conv_month, left_month, sum(sign),
           coalesce(array_agg(stay ORDER BY stay) FILTER (WHERE sign > 0 AND stay IS NOT NULL), '{}')
               || coalesce(array_agg(-stay - 1) FILTER (WHERE sign < 0 AND stay IS NOT NULL), '{}')
    FROM d GROUP BY 1, 2, 3, 4, 5 ORDER BY 3, 1, 2, 4, 5
    ON CONFLICT (month, account_manager, stage, conv_month, left_month) DO UPDATE SET
        entries = f.entries + excluded.entries,
        stays = multiset_update(f.stays, ARRAY(SELECT w FROM unnest(excluded.stays) w WHERE w >= 0),
                                ARRAY(SELECT -w - 1 FROM unnest(excluded.stays) w WHERE w < 0));
    DELETE FROM funnel_rollup WHERE entries = 0;

    WITH now_ AS (SELECT * FROM cohort_of(ids)),
    d AS (
        SELECT 1 AS sign, * FROM (SELECT * FROM now_ EXCEPT ALL SELECT * FROM cohort_before) p
        UNION ALL
        SELECT -1, * FROM (SELECT * FROM cohort_before EXCEPT ALL SELECT * FROM now_) m
    )
    INSERT INTO cohort_rollup AS k
    SELECT account_manager, cohort, month, sum(sign) FROM d GROUP BY 1, 2, 3 ORDER BY 2, 1, 3
    ON CONFLICT (cohort, account_manager, month) DO UPDATE SET customers = k.customers + excluded.customers;
    DELETE FROM cohort_rollup WHERE customers = 0;

    DELETE FROM journey_before;
    DELETE FROM funnel_before;
    DELETE FROM cohort_before;
END $$;

-- rollups_rebuild recomputes the rollups from the read model.
CREATE FUNCTION rollups_rebuild() RETURNS void LANGUAGE plpgsql
-- The groups of millions of rows sort in memory rather than on disk.
SET work_mem = '256MB' AS $$
BEGIN
    TRUNCATE journey_rollup, funnel_rollup, cohort_rollup;
    INSERT INTO journey_rollup
    SELECT account_manager, stage, touchpoint, month, prev_month, conv_month, count(*), sum(interactions), sum(complaints),
           sum(rated), sum(rating_sum), coalesce(array_agg(wait ORDER BY wait) FILTER (WHERE wait IS NOT NULL), '{}')
    FROM journey_of(NULL) GROUP BY 1, 2, 3, 4, 5, 6;
    INSERT INTO funnel_rollup
    SELECT account_manager, stage, month, conv_month, left_month, count(*),
           coalesce(array_agg(stay ORDER BY stay) FILTER (WHERE stay IS NOT NULL), '{}')
    FROM funnel_of(NULL) GROUP BY 1, 2, 3, 4, 5;
    INSERT INTO cohort_rollup SELECT account_manager, cohort, month, count(*) FROM cohort_of(NULL) GROUP BY 1, 2, 3;
END $$;

SELECT rollups_rebuild();
