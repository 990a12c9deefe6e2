-- 0004_outbox: changes made on the Simplix side, captured by triggers for export
-- (DESIGN.md 6, "Export").
--
-- Echo suppression: a transaction that applies an import of integration 42 first runs
--     SELECT set_config('simplix.origin_integration', '42', true);   -- i.e. SET LOCAL
-- and every outbox row its changes produce carries origin_integration_id = 42; the export
-- worker then does not push those rows back to integration 42 (it still pushes them to the
-- organization's other integrations). Without the setting (a change made in Simplix) the
-- origin is NULL. SET LOCAL ends with the transaction, so the tag cannot leak into the next
-- one on a pooled connection.
--
-- entity uses the canonical names (sx_entity_name: "customer", "product"), as
-- integration_mappings does. payload is the row as JSON at the time of the change, without
-- external_data (large, and the platform's own copy). The export worker wakes on
-- NOTIFY simplix_outbox (payload: organization id).

CREATE TABLE outbox (
    id                    bigserial   PRIMARY KEY,
    organization_id       bigint      NOT NULL,
    entity                text        NOT NULL,
    internal_id           bigint      NOT NULL,
    op                    text        NOT NULL CHECK (op IN ('upsert', 'delete')),
    origin_integration_id bigint,
    payload               jsonb,
    created_at            timestamptz NOT NULL DEFAULT now(),
    processed_at          timestamptz
);
-- The export worker reads unprocessed rows in order.
CREATE INDEX outbox_pending ON outbox (id) WHERE processed_at IS NULL;
CREATE INDEX outbox_org ON outbox (organization_id, created_at);
CREATE INDEX outbox_record ON outbox (entity, internal_id);

CREATE OR REPLACE FUNCTION simplix_outbox_capture() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    origin_text text := current_setting('simplix.origin_integration', true);
    origin      bigint;
    rec         jsonb;
BEGIN
    -- A malformed tag is a bug in the caller: fail the statement rather than mis-tag.
    IF origin_text IS NOT NULL AND origin_text <> '' THEN
        origin := origin_text::bigint;
    END IF;
    IF TG_OP = 'DELETE' THEN
        rec := to_jsonb(OLD);
    ELSE
        rec := to_jsonb(NEW);
    END IF;
    INSERT INTO outbox (organization_id, entity, internal_id, op, origin_integration_id, payload)
    VALUES ((rec ->> 'organization_id')::bigint, TG_ARGV[0], (rec ->> 'id')::bigint,
            CASE WHEN TG_OP = 'DELETE' THEN 'delete' ELSE 'upsert' END,
            origin, rec - 'external_data');
    PERFORM pg_notify('simplix_outbox', rec ->> 'organization_id');
    RETURN NULL;
END
$$;

-- UPDATE fires only when something changed (an UPDATE that rewrites the same values, as a
-- re-import of an unchanged record may, is not a change to export).
CREATE TRIGGER companies_outbox_ins AFTER INSERT OR DELETE ON companies
    FOR EACH ROW EXECUTE FUNCTION simplix_outbox_capture('customer');
CREATE TRIGGER companies_outbox_upd AFTER UPDATE ON companies
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION simplix_outbox_capture('customer');
CREATE TRIGGER products_outbox_ins AFTER INSERT OR DELETE ON products
    FOR EACH ROW EXECUTE FUNCTION simplix_outbox_capture('product');
CREATE TRIGGER products_outbox_upd AFTER UPDATE ON products
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION simplix_outbox_capture('product');
