-- 0002_integrations: the integration tables of the spec (DESIGN.md 4).
--
-- Columns of type bytea marked "sealed" hold hub_crypto_seal() blobs (AES-256-GCM, version
-- byte + master key id + nonce + ciphertext + tag; host/crypto/crypto.h). The master key is
-- never in the database.
-- Status and enum-like columns are text with CHECK constraints: readable in psql, cheap to
-- extend in a later migration (drop and re-add the constraint).

CREATE TABLE integrations (
    id                  bigserial   PRIMARY KEY,
    organization_id     bigint      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    platform            text        NOT NULL CHECK (platform ~ '^[a-z0-9_]{1,64}$'),
    name                text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status              text        NOT NULL DEFAULT 'PENDING_AUTH'
                                    CHECK (status IN ('ACTIVE', 'PAUSED', 'ERROR',
                                                      'PENDING_AUTH', 'DISCONNECTED')),
    auth_type           text        NOT NULL DEFAULT 'none'
                                    CHECK (auth_type IN ('none', 'oauth2_code',
                                                         'client_credentials', 'api_key',
                                                         'basic')),
    credentials         bytea,                              -- sealed JSON
    config              jsonb       NOT NULL DEFAULT '{}'::jsonb
                                    CHECK (jsonb_typeof(config) = 'object'),
    -- {"entities": ["customer", ...], "directions": {"customer": ["import", "export"]},
    --  "interval_s": 900}
    sync_settings       jsonb       NOT NULL DEFAULT '{}'::jsonb
                                    CHECK (jsonb_typeof(sync_settings) = 'object'),
    webhook_secret      bytea,                              -- sealed
    last_sync_at        timestamptz,
    last_success_at     timestamptz,
    last_error_at       timestamptz,
    last_error_message  text        CHECK (length(last_error_message) <= 4000),
    sync_count          bigint      NOT NULL DEFAULT 0,
    error_count         bigint      NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz                         -- soft delete
);
CREATE INDEX integrations_org ON integrations (organization_id, id) WHERE deleted_at IS NULL;
-- The scheduler: live integrations by status.
CREATE INDEX integrations_status ON integrations (status, last_sync_at) WHERE deleted_at IS NULL;
CREATE INDEX integrations_platform ON integrations (platform) WHERE deleted_at IS NULL;
CREATE TRIGGER integrations_touch BEFORE UPDATE ON integrations
    FOR EACH ROW EXECUTE FUNCTION simplix_touch_updated_at();

-- Now that integrations exist, tie the Simplix rows' origin to them.
ALTER TABLE companies ADD CONSTRAINT companies_origin_integration_fk
    FOREIGN KEY (origin_integration_id) REFERENCES integrations (id) ON DELETE SET NULL;
ALTER TABLE products ADD CONSTRAINT products_origin_integration_fk
    FOREIGN KEY (origin_integration_id) REFERENCES integrations (id) ON DELETE SET NULL;
ALTER TABLE invoices ADD CONSTRAINT invoices_origin_integration_fk
    FOREIGN KEY (origin_integration_id) REFERENCES integrations (id) ON DELETE SET NULL;
ALTER TABLE payments ADD CONSTRAINT payments_origin_integration_fk
    FOREIGN KEY (origin_integration_id) REFERENCES integrations (id) ON DELETE SET NULL;

-- One row per sync run (a job): counts, pages, the cursor reached, errors and conflict
-- decisions (error_details: [{"external_id": ..., "error": ...} | {"conflict": ...}]).
CREATE TABLE integration_sync_logs (
    id              bigserial   PRIMARY KEY,
    integration_id  bigint      NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    entity          text        NOT NULL,
    direction       text        NOT NULL CHECK (direction IN ('import', 'export')),
    type            text        NOT NULL CHECK (type IN ('full', 'incremental', 'webhook',
                                                         'reconcile')),
    status          text        NOT NULL DEFAULT 'RUNNING'
                                CHECK (status IN ('RUNNING', 'COMPLETED', 'PARTIAL', 'FAILED')),
    processed       integer     NOT NULL DEFAULT 0,
    created         integer     NOT NULL DEFAULT 0,
    updated         integer     NOT NULL DEFAULT 0,
    skipped         integer     NOT NULL DEFAULT 0,
    failed          integer     NOT NULL DEFAULT 0,
    conflicts       integer     NOT NULL DEFAULT 0,
    pages           integer     NOT NULL DEFAULT 0,
    cursor          text,
    error_details   jsonb       NOT NULL DEFAULT '[]'::jsonb,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    duration_ms     bigint,
    job_id          bigint                                  -- jobs.id (no FK: jobs are pruned)
);
CREATE INDEX integration_sync_logs_integration
    ON integration_sync_logs (integration_id, started_at DESC);
CREATE INDEX integration_sync_logs_running ON integration_sync_logs (integration_id, entity)
    WHERE status = 'RUNNING';

-- Which Simplix row (entity, internal_id) is which platform record (external_id), per
-- integration. Both directions are unique: one platform record maps to one row and back.
-- content_hash (SHA-256 hex of the canonical JSON last synced) skips no-op updates.
CREATE TABLE integration_mappings (
    id                  bigserial   PRIMARY KEY,
    integration_id      bigint      NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    entity              text        NOT NULL,
    internal_id         bigint      NOT NULL,
    external_id         text        NOT NULL CHECK (length(external_id) BETWEEN 1 AND 512),
    external_updated_at timestamptz,
    internal_updated_at timestamptz,
    content_hash        text,
    last_synced_at      timestamptz NOT NULL DEFAULT now(),
    last_direction      text        CHECK (last_direction IN ('import', 'export')),
    external_data       jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT integration_mappings_external UNIQUE (integration_id, entity, external_id),
    CONSTRAINT integration_mappings_internal UNIQUE (integration_id, entity, internal_id)
);
-- Export fan-out: every integration that knows one Simplix row.
CREATE INDEX integration_mappings_by_internal ON integration_mappings (entity, internal_id);

-- Raw webhook deliveries, stored before the 200 is answered, processed by workers.
-- delivery_id is the platform's delivery id (X-Shopify-Webhook-Id, X-WC-Webhook-Delivery-ID,
-- Stripe event id...); when a platform sends none, the receiver stores the SHA-256 hex of the
-- body, so a redelivery is still caught by the unique constraint.
CREATE TABLE integration_webhook_events (
    id              bigserial   PRIMARY KEY,
    integration_id  bigint      NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    platform        text        NOT NULL,
    topic           text        NOT NULL DEFAULT '',
    delivery_id     text        NOT NULL CHECK (length(delivery_id) BETWEEN 1 AND 256),
    headers         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    body            bytea       NOT NULL CHECK (octet_length(body) <= 16777216),
    source_ip       inet,
    signature       text,
    status          text        NOT NULL DEFAULT 'PENDING'
                                CHECK (status IN ('PENDING', 'PROCESSING', 'PROCESSED',
                                                  'FAILED', 'SKIPPED')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    received_at     timestamptz NOT NULL DEFAULT now(),
    processed_at    timestamptz,
    CONSTRAINT integration_webhook_events_delivery UNIQUE (integration_id, delivery_id)
);
-- Workers pick due events.
CREATE INDEX integration_webhook_events_due ON integration_webhook_events (status, next_attempt_at);
CREATE INDEX integration_webhook_events_integration
    ON integration_webhook_events (integration_id, received_at DESC);

CREATE TABLE shopify_shops (
    id                       bigserial   PRIMARY KEY,
    integration_id           bigint      NOT NULL UNIQUE
                                         REFERENCES integrations (id) ON DELETE CASCADE,
    shop_domain              text        NOT NULL UNIQUE
                                         CHECK (shop_domain = lower(shop_domain)
                                                AND length(shop_domain) BETWEEN 1 AND 255),
    access_token             bytea,                        -- sealed
    refresh_token            bytea,                        -- sealed (expiring offline tokens)
    token_expires_at         timestamptz,
    refresh_token_expires_at timestamptz,
    scopes                   text,
    shop_name                text,
    email                    text,
    currency                 char(3)     CHECK (currency ~ '^[A-Z]{3}$'),
    timezone                 text,
    plan                     text,
    country_code             char(2),
    api_version              text,
    installed_at             timestamptz NOT NULL DEFAULT now(),
    uninstalled_at           timestamptz,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER shopify_shops_touch BEFORE UPDATE ON shopify_shops
    FOR EACH ROW EXECUTE FUNCTION simplix_touch_updated_at();

CREATE TABLE woocommerce_stores (
    id               bigserial   PRIMARY KEY,
    integration_id   bigint      NOT NULL UNIQUE
                                 REFERENCES integrations (id) ON DELETE CASCADE,
    store_url        text        NOT NULL CHECK (store_url ~ '^https?://'),
    consumer_key     bytea,                                -- sealed
    consumer_secret  bytea,                                -- sealed
    wc_version       text,
    wp_version       text,
    key_permissions  text        CHECK (key_permissions IN ('read', 'write', 'read_write')),
    store_name       text,
    currency         char(3)     CHECK (currency ~ '^[A-Z]{3}$'),
    timezone         text,
    connected_at     timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX woocommerce_stores_url ON woocommerce_stores (store_url);
CREATE TRIGGER woocommerce_stores_touch BEFORE UPDATE ON woocommerce_stores
    FOR EACH ROW EXECUTE FUNCTION simplix_touch_updated_at();
