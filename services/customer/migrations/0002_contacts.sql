-- One owner per normalised e-mail and phone among live customers, kept by
-- the database so that two concurrent creates cannot both take one (a
-- read-then-insert cannot promise that). A customer created with
-- allow_duplicates lists a contact without owning it; when the owner is
-- deleted, merged away or purged, the oldest live customer still listing
-- the contact takes it over, so a contact stays owned while anyone has it.
CREATE TABLE contacts (
    kind        text NOT NULL CHECK (kind IN ('email', 'phone')),
    value       text NOT NULL,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    PRIMARY KEY (kind, value)
);
CREATE INDEX contacts_customer_idx ON contacts (customer_id);

INSERT INTO contacts (kind, value, customer_id)
SELECT DISTINCT ON (kind, value) kind, value, id
FROM (
    SELECT 'email' AS kind, unnest(emails) AS value, id, create_time FROM customers
    WHERE delete_time IS NULL AND merged_into IS NULL
    UNION ALL
    SELECT 'phone', unnest(phones), id, create_time FROM customers
    WHERE delete_time IS NULL AND merged_into IS NULL
) listed
ORDER BY kind, value, create_time, id;
