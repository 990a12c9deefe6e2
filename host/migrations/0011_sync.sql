-- Sync engine state: one row per (integration, entity, direction).
--   Import: the run in progress (its sync log, the connector's cursor of the next page, the
--   updated_since it was started with) so a killed hub resumes from the last committed page;
--   and the watermark of the last completed run (the time it started: every change after it
--   is fetched by the next incremental run, minus the overlap window).
--   Export (entity '*'): the last outbox id this integration has handled.
CREATE TABLE sync_state (
    integration_id  bigint      NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    entity          text        NOT NULL CHECK (entity IN ('customer', 'product', 'order',
                                                           'payment', '*')),
    direction       text        NOT NULL CHECK (direction IN ('import', 'export')),
    run_log_id      bigint,                 -- integration_sync_logs.id of the run in progress
    run_cursor      text        CHECK (length(run_cursor) <= 8192),
    run_since       timestamptz,            -- NULL: a full run
    run_started_at  timestamptz,
    watermark       timestamptz,            -- start of the last completed run
    last_outbox_id  bigint      NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, entity, direction)
);

-- Typed reads of canonical JSON values for the engine's set-based apply: NULL instead of an
-- error for a value of the wrong type, so one odd record cannot abort a page's statement.
CREATE OR REPLACE FUNCTION sx_int(v jsonb) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(v) = 'number' AND v::text ~ '^-?[0-9]{1,18}$'
                THEN v::text::bigint END
$$;
CREATE OR REPLACE FUNCTION sx_bool(v jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(v) = 'boolean' THEN v::text::boolean END
$$;
CREATE OR REPLACE FUNCTION sx_text(v jsonb, maxlen integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(v) = 'string' THEN left(v #>> '{}', maxlen) END
$$;
-- Times: the engine checks every time field in C before a record reaches SQL (the model's
-- "YYYY-MM-DDTHH:MM:SS[.fff]Z"), so the cast cannot fail here; a plain SQL function inlines,
-- where a PL/pgSQL one with an EXCEPTION block would open a subtransaction per call.
CREATE OR REPLACE FUNCTION sx_time(v jsonb) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(v) = 'string'
                 AND (v #>> '{}') ~ '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$'
                THEN (v #>> '{}')::timestamptz END
$$;
CREATE OR REPLACE FUNCTION sx_code(v jsonb, pattern text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(v) = 'string' AND (v #>> '{}') ~ pattern THEN v #>> '{}' END
$$;
-- The address a company keeps: the billing address, else the first one.
CREATE OR REPLACE FUNCTION sx_pick_address(addrs jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(addrs) <> 'array' THEN NULL
                ELSE coalesce((SELECT a FROM jsonb_array_elements(addrs) a
                               WHERE a ->> 'kind' = 'billing' LIMIT 1), addrs -> 0) END
$$;
