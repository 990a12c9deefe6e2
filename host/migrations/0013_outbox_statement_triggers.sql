-- The outbox triggers of 0004 ran once per row in PL/pgSQL (about 60 us a row: an import of
-- 250 records spent most of its time there). These statement-level triggers do the same work
-- once per statement over the transition tables: one INSERT ... SELECT into the outbox and one
-- NOTIFY per organization touched. Same rows, same tags, same semantics:
--   - every inserted or deleted row, and every updated row whose values changed;
--   - origin_integration_id from `simplix.origin_integration` (a malformed tag fails the
--     statement rather than mis-tag);
--   - payload = the row without external_data, for changes made in Simplix (no origin tag).
--     An import's own changes (origin set) carry no payload: nothing reads it (the export
--     builds what it sends from the current row, and never sends an import back to its
--     origin), and building it was most of an import's write cost.
CREATE OR REPLACE FUNCTION simplix_outbox_capture_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    origin_text text := current_setting('simplix.origin_integration', true);
    origin      bigint;
    org         bigint;
BEGIN
    IF origin_text IS NOT NULL AND origin_text <> '' THEN
        origin := origin_text::bigint;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO outbox (organization_id, entity, internal_id, op, origin_integration_id,
                            payload)
        SELECT n.organization_id, TG_ARGV[0], n.id, 'upsert', origin,
               CASE WHEN origin IS NULL THEN to_jsonb(n) - 'external_data' END
        FROM new_rows n ORDER BY n.id;
        FOR org IN SELECT DISTINCT organization_id FROM new_rows LOOP
            PERFORM pg_notify('simplix_outbox', org::text);
        END LOOP;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO outbox (organization_id, entity, internal_id, op, origin_integration_id,
                            payload)
        SELECT n.organization_id, TG_ARGV[0], n.id, 'upsert', origin,
               CASE WHEN origin IS NULL THEN to_jsonb(n) - 'external_data' END
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE to_jsonb(o) IS DISTINCT FROM to_jsonb(n) ORDER BY n.id;
        FOR org IN SELECT DISTINCT n.organization_id FROM new_rows n JOIN old_rows o ON o.id = n.id
                   WHERE to_jsonb(o) IS DISTINCT FROM to_jsonb(n) LOOP
            PERFORM pg_notify('simplix_outbox', org::text);
        END LOOP;
    ELSE
        INSERT INTO outbox (organization_id, entity, internal_id, op, origin_integration_id,
                            payload)
        SELECT o.organization_id, TG_ARGV[0], o.id, 'delete', origin,
               CASE WHEN origin IS NULL THEN to_jsonb(o) - 'external_data' END
        FROM old_rows o ORDER BY o.id;
        FOR org IN SELECT DISTINCT organization_id FROM old_rows LOOP
            PERFORM pg_notify('simplix_outbox', org::text);
        END LOOP;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS companies_outbox_ins ON companies;
DROP TRIGGER IF EXISTS companies_outbox_upd ON companies;
DROP TRIGGER IF EXISTS products_outbox_ins ON products;
DROP TRIGGER IF EXISTS products_outbox_upd ON products;

-- A trigger with transition tables has exactly one event: three per table.
CREATE TRIGGER companies_outbox_ins AFTER INSERT ON companies
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION simplix_outbox_capture_rows('customer');
CREATE TRIGGER companies_outbox_upd AFTER UPDATE ON companies
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION simplix_outbox_capture_rows('customer');
CREATE TRIGGER companies_outbox_del AFTER DELETE ON companies
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION simplix_outbox_capture_rows('customer');
CREATE TRIGGER products_outbox_ins AFTER INSERT ON products
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION simplix_outbox_capture_rows('product');
CREATE TRIGGER products_outbox_upd AFTER UPDATE ON products
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION simplix_outbox_capture_rows('product');
CREATE TRIGGER products_outbox_del AFTER DELETE ON products
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION simplix_outbox_capture_rows('product');
