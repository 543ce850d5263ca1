-- Personal fields encrypted at the application layer (package envelope,
-- data keys in data_keys). pii holds a customer's e-mails, phones,
-- birthday and address sealed under the newest data key and bound to the
-- row's id; email_index and phone_index hold keyed blind indexes of the
-- normalised e-mails and phones, which equality filters, duplicate
-- detection and the contacts table (whose value is now such an index)
-- use. address keeps the city and country code alone, coarse and
-- filterable; birthday and search_text keep nothing personal.
--
-- SQL cannot encrypt (the key never reaches the database): rows written
-- before this migration keep their plaintext, marked by pii IS NULL, until
-- the service's start-up pass seals them (store.Reseal), in the same
-- transaction rewriting their contacts' values as indexes.
ALTER TABLE customers RENAME COLUMN emails TO email_index;
ALTER TABLE customers RENAME COLUMN phones TO phone_index;
ALTER INDEX customers_emails_idx RENAME TO customers_email_index_idx;
ALTER INDEX customers_phones_idx RENAME TO customers_phone_index_idx;
ALTER TABLE customers ADD COLUMN pii bytea;
-- The start-up pass finds plaintext rows, and the re-encryption pass after
-- a rotation the values of older data keys (the key id is bytes 2 to 5,
-- big-endian, so older keys sort first), without reading the table.
CREATE INDEX customers_legacy_idx ON customers (id) WHERE pii IS NULL;
CREATE INDEX customers_pii_key_idx ON customers ((substring(pii from 2 for 4)));
CREATE INDEX outbox_plain_payload_idx ON outbox (sequence) WHERE payload IS NOT NULL AND get_byte(payload, 0) <> 1;
CREATE INDEX outbox_payload_key_idx ON outbox ((substring(payload from 2 for 4)));

-- Merge snapshots (both customers as they were) sealed the same way;
-- legacy rows keep their jsonb until the start-up pass.
ALTER TABLE merges ADD COLUMN snapshots bytea;
ALTER TABLE merges ALTER COLUMN merged_before DROP NOT NULL;
ALTER TABLE merges ALTER COLUMN survivor_before DROP NOT NULL;
