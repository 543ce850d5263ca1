-- Customer profiles, their history, idempotency keys and the outbox.

-- Trigram matching for search and fuzzy duplicate detection. Extensions are
-- per database, so it lives in public and is referenced schema-qualified.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

CREATE TABLE customers (
    id                uuid PRIMARY KEY,
    kind              text NOT NULL,
    display_name      text NOT NULL,
    emails            text[] NOT NULL DEFAULT '{}',
    phones            text[] NOT NULL DEFAULT '{}',
    company           text NOT NULL DEFAULT '',
    title             text NOT NULL DEFAULT '',
    address           jsonb NOT NULL DEFAULT '{}',
    birthday          text NOT NULL DEFAULT '',
    source            text NOT NULL,
    lifecycle_stage   text NOT NULL,
    value_tier        text NOT NULL DEFAULT '',
    need_profile      jsonb NOT NULL DEFAULT '{}',
    account_manager   text NOT NULL DEFAULT '',
    tags              text[] NOT NULL DEFAULT '{}',
    attributes        jsonb NOT NULL DEFAULT '{}',
    marketing_consent boolean NOT NULL DEFAULT false,
    loyalty_points    bigint NOT NULL DEFAULT 0 CHECK (loyalty_points >= 0),
    membership_tier   text NOT NULL,
    external_id       text,
    revision          bigint NOT NULL,
    create_time       timestamptz NOT NULL,
    update_time       timestamptz NOT NULL,
    delete_time       timestamptz,
    -- Set when this customer was merged into another; the row stays so the
    -- old name still resolves to the survivor.
    merged_into       uuid REFERENCES customers (id) ON DELETE CASCADE,
    -- Lower-cased name, company, e-mails and phones, kept by the store for
    -- trigram search (array_to_string is not immutable, so no generated column).
    search_text       text NOT NULL DEFAULT ''
);

-- One live customer per external id; deleted and merged ones free it.
CREATE UNIQUE INDEX customers_external_id_key ON customers (external_id)
    WHERE external_id IS NOT NULL AND delete_time IS NULL AND merged_into IS NULL;
CREATE INDEX customers_emails_idx ON customers USING gin (emails);
CREATE INDEX customers_phones_idx ON customers USING gin (phones);
CREATE INDEX customers_tags_idx ON customers USING gin (tags);
CREATE INDEX customers_search_idx ON customers USING gin (search_text public.gin_trgm_ops);
CREATE INDEX customers_create_time_idx ON customers (create_time, id);
CREATE INDEX customers_update_time_idx ON customers (update_time, id);
CREATE INDEX customers_name_idx ON customers (lower(display_name), id);
CREATE INDEX customers_account_manager_idx ON customers (account_manager);
CREATE INDEX customers_merged_into_idx ON customers (merged_into) WHERE merged_into IS NOT NULL;

CREATE TABLE lifecycle_transitions (
    id          uuid PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    from_stage  text NOT NULL,
    to_stage    text NOT NULL,
    reason      text NOT NULL,
    actor       text NOT NULL,
    create_time timestamptz NOT NULL
);
CREATE INDEX lifecycle_transitions_customer_idx ON lifecycle_transitions (customer_id, create_time DESC, id DESC);

CREATE TABLE points_ledger (
    id          uuid PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    delta       bigint NOT NULL,
    balance     bigint NOT NULL CHECK (balance >= 0),
    reason      text NOT NULL,
    actor       text NOT NULL,
    request_id  text NOT NULL DEFAULT '',
    create_time timestamptz NOT NULL
);
CREATE INDEX points_ledger_customer_idx ON points_ledger (customer_id, create_time DESC, id DESC);

-- Idempotency keys (AIP-155): the fingerprint of the first request and the
-- id of what it produced.
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
CREATE INDEX outbox_subject_idx ON outbox (subject);
