-- 0005_jobs: the job queue (host/queue/queue.c). Several simplix-hub processes share it; a
-- worker claims rows with FOR UPDATE SKIP LOCKED and holds them by a lease (locked_until)
-- that its process heartbeats; an expired lease means the worker died, and the reaper puts
-- the job back. Delivery is at-least-once: handlers must be idempotent.
--
-- status:  queued  - waiting to run at run_at (never tried, reaped, or released at shutdown)
--          running - claimed by locked_by until locked_until
--          failed  - the last attempt failed; retried at run_at (backoff with full jitter)
--          done    - finished; result holds the handler's JSON result, if any
--          dead    - gave up (max_attempts reached or a permanent error); last_error says why
-- attempts counts claims (it is incremented by the claim, so a crash mid-job still counts);
-- a graceful shutdown that releases a job gives the attempt back. locked_by names the last
-- worker that claimed the job (kept after it ends, for the record); locked_until is set only
-- while running.
-- organization_id / integration_id are plain columns (no foreign key): a job may outlive its
-- integration and must still be visible for the record; handlers check existence themselves.

CREATE TABLE jobs (
    id              bigserial   PRIMARY KEY,
    queue           text        NOT NULL DEFAULT 'default',
    kind            text        NOT NULL,
    payload         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    status          text        NOT NULL DEFAULT 'queued'
                    CONSTRAINT jobs_status_check
                    CHECK (status IN ('queued', 'running', 'done', 'failed', 'dead')),
    priority        integer     NOT NULL DEFAULT 0,
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts    integer     NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
    run_at          timestamptz NOT NULL DEFAULT now(),
    locked_by       text,
    locked_until    timestamptz,
    last_error      text,
    dedupe_key      text,
    organization_id bigint,
    integration_id  bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    result          jsonb,
    CONSTRAINT jobs_running_locked
        CHECK (status <> 'running' OR (locked_by IS NOT NULL AND locked_until IS NOT NULL))
);

-- At most one pending (queued, failed-awaiting-retry or running) job per dedupe key; once it
-- is done or dead the key may be enqueued again.
CREATE UNIQUE INDEX jobs_dedupe_pending ON jobs (dedupe_key)
    WHERE dedupe_key IS NOT NULL AND status IN ('queued', 'running', 'failed');

-- Claiming: runnable rows of one queue in priority order (queue.c: claim_sql).
CREATE INDEX jobs_claim ON jobs (queue, priority DESC, run_at, id)
    WHERE status IN ('queued', 'failed');

-- Reaping expired leases, heartbeats and releases by worker.
CREATE INDEX jobs_running_lease ON jobs (locked_until) WHERE status = 'running';
CREATE INDEX jobs_locked_by ON jobs (locked_by) WHERE status = 'running';

CREATE INDEX jobs_integration ON jobs (integration_id, created_at) WHERE integration_id IS NOT NULL;
