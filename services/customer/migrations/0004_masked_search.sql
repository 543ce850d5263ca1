-- Search for masked callers (analysts, viewers) matches only what they see:
-- the name and company, never the contacts in search_text. Its own trigram
-- index keeps that search as fast as the full one.
CREATE INDEX customers_visible_search_idx ON customers
    USING gin ((lower(display_name || ' ' || company)) public.gin_trgm_ops);
