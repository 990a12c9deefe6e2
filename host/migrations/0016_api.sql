-- 0016_api: idempotency keys of the admin API (host/api/api.h). A POST carrying
-- Idempotency-Key stores its first answer here; the same key with the same request
-- (request_hash = SHA-256 hex of method, path and body) gets that answer again for 24 hours.
CREATE TABLE api_idempotency_keys (
    organization_id bigint      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    key             text        NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    request_hash    text        NOT NULL CHECK (request_hash ~ '^[0-9a-f]{64}$'),
    status          integer     NOT NULL CHECK (status BETWEEN 200 AND 499),
    location        text,
    body            text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, key)
);
CREATE INDEX api_idempotency_keys_created ON api_idempotency_keys (created_at);
