-- 0003_engine: what the engine adds besides the job queue (0005_jobs.sql) and the outbox
-- (0004_outbox.sql): OAuth states, connector state, integration secrets, API tokens, the
-- marketplace's installed packages and their audit log, and the shared rate-limit buckets.

-- OAuth authorization requests in flight. `state` is the SHA-256 hex of the random nonce
-- sent to the platform, never the nonce itself: a database reader cannot forge a callback.
-- Single use: the callback sets used_at in the same statement that checks it is NULL.
CREATE TABLE oauth_states (
    state           text        PRIMARY KEY CHECK (state ~ '^[0-9a-f]{64}$'),
    integration_id  bigint      NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    organization_id bigint      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    redirect_uri    text        NOT NULL CHECK (length(redirect_uri) <= 2048),
    code_verifier   bytea,                                  -- sealed (PKCE)
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX oauth_states_expires ON oauth_states (expires_at);

-- Small per-integration state a connector keeps through the host services (cursors,
-- webhook subscription ids). Not secret.
CREATE TABLE connector_state (
    integration_id bigint      NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    key            text        NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    value          bytea       NOT NULL CHECK (octet_length(value) <= 1048576),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, key)
);

-- Secrets a connector reads and writes through the host services (secret_get/secret_set),
-- e.g. a token the platform rotated. value is sealed; key_id names the master key it was
-- sealed with, so a rotation can find what still needs re-sealing.
CREATE TABLE integration_secrets (
    integration_id bigint      NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    key            text        NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    value          bytea       NOT NULL CHECK (octet_length(value) <= 1048576),
    key_id         text        NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, key)
);
CREATE INDEX integration_secrets_key_id ON integration_secrets (key_id);

-- Admin API bearer tokens, stored as SHA-256 of the token (32 bytes); `prefix` is the first
-- characters of the token, shown in listings so an administrator can tell tokens apart.
-- A token belongs to one organization, except operator tokens (organization_id NULL), which
-- administer the hub itself (marketplace, all organizations).
CREATE TABLE api_tokens (
    id              bigserial   PRIMARY KEY,
    organization_id bigint      REFERENCES organizations (id) ON DELETE CASCADE,
    name            text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role            text        NOT NULL CHECK (role IN ('admin', 'readonly', 'operator')),
    token_hash      bytea       NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    prefix          text        NOT NULL CHECK (length(prefix) BETWEEN 1 AND 16),
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_used_at    timestamptz,
    expires_at      timestamptz,
    revoked_at      timestamptz,
    -- operator tokens and only they have no organization
    CONSTRAINT api_tokens_operator_scope CHECK ((organization_id IS NULL) = (role = 'operator'))
);
CREATE INDEX api_tokens_org ON api_tokens (organization_id) WHERE revoked_at IS NULL;

-- Marketplace: connector packages installed in the plugin folder. At most one active
-- version per connector.
CREATE TABLE installed_packages (
    id               bigserial   PRIMARY KEY,
    connector_id     text        NOT NULL CHECK (connector_id ~ '^[a-z0-9_]{1,64}$'),
    version          text        NOT NULL CHECK (length(version) BETWEEN 1 AND 64),
    publisher        text        NOT NULL,
    publisher_key_id text,
    sha256           text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    path             text        NOT NULL,
    abi_version      text,
    status           text        NOT NULL DEFAULT 'installed'
                                 CHECK (status IN ('installed', 'active', 'inactive',
                                                   'failed', 'removed')),
    installed_at     timestamptz NOT NULL DEFAULT now(),
    activated_at     timestamptz,
    previous_version text,
    CONSTRAINT installed_packages_version UNIQUE (connector_id, version)
);
CREATE UNIQUE INDEX installed_packages_one_active ON installed_packages (connector_id)
    WHERE status = 'active';

-- Audit log of everything done to packages (install, verify failure, activate, rollback...).
CREATE TABLE package_events (
    id           bigserial   PRIMARY KEY,
    package_id   bigint      REFERENCES installed_packages (id) ON DELETE SET NULL,
    connector_id text        NOT NULL,
    version      text,
    action       text        NOT NULL CHECK (length(action) BETWEEN 1 AND 64),
    outcome      text        NOT NULL DEFAULT 'ok' CHECK (outcome IN ('ok', 'refused', 'error')),
    actor        text,                                      -- api token name / "cli"
    details      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX package_events_connector ON package_events (connector_id, created_at DESC);

-- Rate-limit buckets shared between hub processes (host/net/ratelimit.h describes the
-- store): one row per platform account ("shopify:shop.myshopify.com"), changed under
-- SELECT ... FOR UPDATE. Fixed point (1e-6 requests) and epoch milliseconds, not floats.
CREATE TABLE rate_limit_buckets (
    account       text        PRIMARY KEY CHECK (length(account) BETWEEN 1 AND 512),
    level_u       bigint      NOT NULL,
    level_at_ms   bigint      NOT NULL,
    blocked_until bigint      NOT NULL DEFAULT 0,
    capacity      integer     NOT NULL CHECK (capacity > 0),
    rate_milli    integer     NOT NULL CHECK (rate_milli > 0),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
