-- 0018_connector_version: which version of the connector ran each sync (the marketplace can
-- swap versions while the hub runs; a run finishes on the version it started with).
ALTER TABLE integration_sync_logs ADD COLUMN connector_version text
    CHECK (length(connector_version) <= 200);
