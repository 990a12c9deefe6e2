-- Platform records kept in external_data are several KB each (a Shopify order is about 6 KB),
-- so nearly every imported row goes through TOAST compression. lz4 compresses several times
-- faster than the default pglz at a similar ratio; PostgreSQL 15 on Debian is built with it.
-- Existing values keep their compression; new and updated ones use lz4. Where the server has
-- no lz4 (a custom build), this migration changes nothing.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression'
               AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE companies ALTER COLUMN external_data SET COMPRESSION lz4;
        ALTER TABLE products ALTER COLUMN external_data SET COMPRESSION lz4;
        ALTER TABLE invoices ALTER COLUMN external_data SET COMPRESSION lz4;
        ALTER TABLE payments ALTER COLUMN external_data SET COMPRESSION lz4;
        ALTER TABLE integration_mappings ALTER COLUMN external_data SET COMPRESSION lz4;
        ALTER TABLE integration_webhook_events ALTER COLUMN body SET COMPRESSION lz4;
    END IF;
END
$$;
