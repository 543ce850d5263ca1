-- Interactions imported from another system keep that system's id: a re-run
-- of an import skips the rows an earlier run stored. Recorded ones have none.
ALTER TABLE interactions ADD COLUMN external_id text;
CREATE UNIQUE INDEX interactions_external_id_key ON interactions (external_id) WHERE external_id IS NOT NULL;
