-- Runs of the built-in hub.selftest job: which worker ran which job. Used by
-- `simplix-hub selftest` and the two-hub queue test to prove each job runs once.
CREATE TABLE IF NOT EXISTS hub_selftest_runs (
    job_id     bigint      NOT NULL,
    worker_id  text        NOT NULL,
    ran_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS hub_selftest_runs_job_idx ON hub_selftest_runs (job_id);
