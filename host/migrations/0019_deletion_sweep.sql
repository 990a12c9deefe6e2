-- 0019_deletion_sweep: deletions detected on platforms that send no delete events
-- (host/sync/sweep.c, docs/SYNC.md "Deletion sweep").
--
-- integration_mappings.deleted_at: when the platform's record was found deleted (a delete
-- webhook, a listed record flagged deleted, or a sweep that did not find it). An import of
-- the record clears it. A sweep only looks at mappings where it is NULL, so a record is
-- marked deleted once, however many sweeps miss it afterwards.
ALTER TABLE integration_mappings ADD COLUMN deleted_at timestamptz;

-- Sync logs: the sweep's own type, and a count of records marked deleted.
ALTER TABLE integration_sync_logs DROP CONSTRAINT integration_sync_logs_type_check;
ALTER TABLE integration_sync_logs ADD CONSTRAINT integration_sync_logs_type_check
    CHECK (type IN ('full', 'incremental', 'webhook', 'reconcile', 'sweep'));
ALTER TABLE integration_sync_logs ADD COLUMN deleted integer NOT NULL DEFAULT 0;

-- Per-platform defaults, now also for:
--   sweep_interval_s      the deletion sweep of each entity (NULL: no scheduled sweep).
--                         PrestaShop removes products and orders without a trace in any
--                         listing, and sends nothing: an id sweep every hour finds them.
--   reconcile_interval_s  the safety-net reconciliation.
--   reconcile_full        1: a reconciliation reads everything (not a window): PrestaShop's
--                         stock (stock_availables, no date_upd), order rows and order slips
--                         change without moving date_upd (platforms.md 3.3), so only a full
--                         read heals them; every 6 hours by default.
CREATE OR REPLACE FUNCTION sx_platform_default(platform text, key text) RETURNS int
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE key
        WHEN 'interval_s' THEN CASE platform WHEN 'woocommerce' THEN 120
                                             WHEN 'prestashop' THEN 300 ELSE 900 END
        WHEN 'subscribe_interval_s' THEN CASE platform WHEN 'woocommerce' THEN 300 ELSE 1800 END
        WHEN 'sweep_interval_s' THEN CASE platform WHEN 'prestashop' THEN 3600 END
        WHEN 'reconcile_interval_s' THEN CASE platform WHEN 'prestashop' THEN 21600 ELSE 3600 END
        WHEN 'reconcile_full' THEN CASE platform WHEN 'prestashop' THEN 1 ELSE 0 END
    END
$$;
