-- 0021_webhook_pending_index: processing claims an integration's pending events in id order
-- (webhook_process.c). The index it had, (status, next_attempt_at), gave it no order: under a
-- backlog PostgreSQL either sorted every pending row (bodies included, spilling to disk) or
-- walked the primary key past every processed row. This one holds only pending events, by
-- integration then id: the claim starts at the integration's first pending event, and the
-- backlog gauge (status = 'PENDING') counts from it. It replaces the old index, which nothing
-- else used, so an insert maintains as many indexes as before.
CREATE INDEX IF NOT EXISTS integration_webhook_events_pending
    ON integration_webhook_events (integration_id, id) WHERE status = 'PENDING';
DROP INDEX IF EXISTS integration_webhook_events_due;
