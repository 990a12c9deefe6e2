-- 0017_platform_defaults: the scheduler's defaults per platform, for integrations whose
-- sync_settings do not say (host/sync/engine.c hub_sync_schedule).
--   interval_s            incremental imports. WooCommerce webhooks are a hint (never retried,
--                         disabled after 5 failures: platforms.md 2.6), so its poller runs every
--                         2 minutes; PrestaShop has no webhooks, its poller is the change feed.
--   subscribe_interval_s  the subscription monitor (webhook.subscribe jobs), which re-activates
--                         disabled WooCommerce webhooks.
CREATE FUNCTION sx_platform_default(platform text, key text) RETURNS int
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE key
        WHEN 'interval_s' THEN CASE platform WHEN 'woocommerce' THEN 120
                                             WHEN 'prestashop' THEN 300 ELSE 900 END
        WHEN 'subscribe_interval_s' THEN CASE platform WHEN 'woocommerce' THEN 300 ELSE 1800 END
    END
$$;
