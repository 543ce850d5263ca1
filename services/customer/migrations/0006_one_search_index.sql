-- Search matches names and companies through customers_visible_search_idx
-- (migration 0004) for every caller: since migration 0005 search_text held
-- the same name and company, and its trigram index was a second copy of
-- that index, the costliest one to maintain on a bulk load
-- (docs/benchmarks.md). Contacts are found by their blind indexes.
DROP INDEX customers_search_idx;
ALTER TABLE customers DROP COLUMN search_text;
