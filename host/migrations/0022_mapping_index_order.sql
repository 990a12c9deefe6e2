-- 0022_mapping_index_order: the engine looks mappings up by platform id, one index probe per
-- record, on (integration_id, entity, external_id). The reverse constraint began with the same
-- two columns, (integration_id, entity, internal_id), and being the smaller index it won every
-- tie: right after an integration's first records arrive, before statistics count them, the
-- planner read "this integration has about one mapping" and walked all of them through that
-- index, for every record of every page. Led by internal_id, the constraint keeps the same
-- uniqueness and can no longer be walked by integration: lookups by platform id have only the
-- external index to seek. It still serves lookups by Simplix row, and the export fan-out
-- (every integration that knows one row), so the separate (entity, internal_id) index goes:
-- one index fewer per mapping written. ON CONFLICT (integration_id, entity, internal_id)
-- infers the constraint from its columns, in any order.
ALTER TABLE integration_mappings DROP CONSTRAINT integration_mappings_internal;
ALTER TABLE integration_mappings ADD CONSTRAINT integration_mappings_internal
    UNIQUE (internal_id, entity, integration_id);
DROP INDEX IF EXISTS integration_mappings_by_internal;
