-- Value tiers (ABC) the scoring pass found different from the customer
-- record's, waiting for the lifecycle pass to write them back.
CREATE TABLE tier_proposals (
    customer_id uuid PRIMARY KEY,
    tier        text NOT NULL,
    reason      text NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now()
);
