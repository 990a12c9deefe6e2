-- 0023_mapping_echo_hash: how the engine tells its own push coming back from an edit made on
-- the platform in the same second (docs/SYNC.md, "Echoes and edits in the same second").
-- After a push, the connector may return the record as the platform now has it (sx_push_res
-- canonical_json); the export keeps its hash, computed as an import computes a record's hash.
-- A record that comes back with the push's updated_at is the echo when its hash is this one,
-- and an edit otherwise. NULL when the connector returned no record (the echo rule is then
-- the time alone), and cleared by every import of the record.
ALTER TABLE integration_mappings ADD COLUMN IF NOT EXISTS echo_hash text;
