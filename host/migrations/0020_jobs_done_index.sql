-- 0020_jobs_done_index: finished jobs are purged after job_retention_h (docs/OPERATIONS.md).
-- The purge (queue.c: hub_queue_purge) finds them by finish time; without this index it would
-- scan the whole table, which grows by one row per webhook batch.
CREATE INDEX IF NOT EXISTS jobs_done_finished ON jobs (finished_at) WHERE status = 'done';
