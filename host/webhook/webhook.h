/*
 * The webhook pipeline (DESIGN.md 6, issue 5): receive, verify, store durably, answer, then
 * process in order through the sync engine.
 *
 *     loop thread (no database)                writer thread (own connection)
 *     -------------------------                ------------------------------
 *     POST /api/webhooks/{platform}/{id}
 *       size limit (413), integration cache
 *       (miss -> lookup item ------------->    load integration + sealed secret, fill the
 *        <------------------------------------ cache; the request is checked again)
 *       unknown / wrong platform 404,
 *       signature (constant time) 401,
 *       dedupe key, topic, headers
 *       -> store item (queue full: 503) --->   everything queued, ONE transaction:
 *                                              INSERT .. ON CONFLICT DO NOTHING RETURNING,
 *                                              one "webhook.process" job per integration,
 *                                              COMMIT (synchronous_commit on)
 *       <------------------------------------  done list + one byte on a pipe
 *       200 {"status":"accepted|duplicate"}
 *
 * Processing: job kind "webhook.process" {"integration_id": N}, run by the shared worker pool,
 * in batches of up to 200 events, order of arrival per record, parallel across records:
 *   1. claim: under the integration's session-level advisory lock (21335, id), the oldest due
 *      PENDING events (FOR UPDATE SKIP LOCKED), each translated by the connector into
 *      canonical changes, and the record lock (hub_sync_lock_records: transaction level,
 *      21336, hash of integration, entity, external id) of every record they touch, in
 *      ascending order. Import pages and sweeps take the same locks when they apply;
 *   2. the integration lock is released: another worker (or hub) claims the next batch. If
 *      that batch touches a record still in flight, it waits for its key (holding the claim
 *      lock, so later batches queue behind it): order of arrival per record is kept, and
 *      batches without a record in common are applied at the same time;
 *   3. apply: every record of the batch through hub_sync_apply_page() set-based (several
 *      changes of one record reduced to the last), the events marked PROCESSED, one commit.
 *      When the engine refuses a record, the batch is applied again event by event, each in
 *      a savepoint, in order of arrival, still under the key locks, so the others land.
 * A failed event (translate error, a record the engine refused) records the attempt: PENDING
 * again with next_attempt_at = now + exponential backoff with full jitter (and a delayed job
 * to pick it up), or FAILED with last_error after the last attempt. Events are never deleted.
 * An event that waits for its retry does not hold back later events of its record: the engine
 * refuses a copy older than the one it has (updated_at), so the retry cannot undo them. The
 * job loops until its integration has no due event, so a job that finds nothing (another job
 * took the events) costs one short transaction.
 *
 * The jobs carry no dedupe key on purpose: the queue's dedupe also covers running jobs, and a
 * job about to finish could otherwise swallow the notification of an event committed just
 * after its last look.
 */
#ifndef HUB_WEBHOOK_WEBHOOK_H
#define HUB_WEBHOOK_WEBHOOK_H

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "http/server.h"
#include "plugin/loader.h"

struct hub_sync;
struct hub_worker_pool;
struct hub_webhook;

#define HUB_JOB_WEBHOOK_PROCESS   "webhook.process"
#define HUB_WEBHOOK_ROUTE         "/api/webhooks/{platform}/{integration_id}"
#define HUB_WEBHOOK_LOCK_CLASS    0x5357   /* first key of the per-integration advisory lock */

struct hub_webhook_opts {
    struct event_base               *base;        /* the loop the HTTP server runs on */
    struct hub_http_server          *http;
    const char                      *conninfo;    /* the writer thread's connection */
    struct hub_plugins              *plugins;
    const struct hub_crypto_keyring *keys;
    struct hub_sync                 *sync;        /* its runtime runs the connector instances */
    const char                      *public_url;  /* "https://hub.example.com" (no slash) */
    size_t                           max_body;    /* 0 = 1 MiB; larger bodies get 413 */
    unsigned                         queue_max;   /* 0 = 8192 requests waiting for the writer */
    unsigned                         batch_max;   /* 0 = 512 events per transaction */
    int                              cache_ttl_ms;    /* 0 = 60000 */
    int                              max_attempts;    /* 0 = 8 processing attempts */
    int                              backoff_base_ms; /* 0 = 1000 */
    int                              backoff_cap_ms;  /* 0 = 3600000 */
    int                              yield_lag_ms;    /* 0 = processing never yields */
};

struct hub_webhook_stats {
    uint64_t accepted;
    uint64_t duplicate;
    uint64_t rejected_signature;
    uint64_t rejected_unknown;
    uint64_t rejected_size;
    uint64_t rejected_full;      /* 503: the writer's queue was full or stopping */
    uint64_t pings;
    uint64_t commits;            /* writer transactions committed (group commits) */
    uint64_t processed;
    uint64_t retried;
    uint64_t failed;
    unsigned queued;             /* waiting for the writer now */
};

/*
 * Start the writer thread (connecting first) and add the route to opts->http. Call on the
 * loop thread before the loop runs. *out is stopped with hub_webhook_stop() and released with
 * hub_webhook_free(). Errors: HUB_E_INVALID, HUB_E_DB, HUB_E_NOMEM, HUB_E_IO.
 */
int  hub_webhook_start(const struct hub_webhook_opts *opts, struct hub_webhook **out,
                       struct hub_error *err);

/* Register the "webhook.process" job kind with a worker pool (before the pool starts). */
int  hub_webhook_register_jobs(struct hub_webhook *wh, struct hub_worker_pool *pool,
                               struct hub_error *err);

/*
 * On the loop thread, before hub_http_server_free(): new deliveries get 503, the writer
 * stores what is queued (up to timeout_ms; < 0 no limit), is joined, and every request is
 * answered (let the loop run a little to write them). Idempotent.
 */
void hub_webhook_stop(struct hub_webhook *wh, int timeout_ms);
/* Stop if needed, free. After the worker pool is freed and before event_base_free(). NULL ok. */
void hub_webhook_free(struct hub_webhook *wh);

void hub_webhook_get_stats(struct hub_webhook *wh, struct hub_webhook_stats *out);

/* Which events a replay puts back to PENDING; 0 / NULL = no condition. At least one must be
 * set. Times are RFC 3339 (received_at >= since, received_at < until). */
struct hub_webhook_filter {
    int64_t     event_id;
    int64_t     integration_id;
    int64_t     organization_id;
    const char *since;
    const char *until;
};

/*
 * Put the matching events (whatever their status) back to PENDING with attempts 0, due now,
 * and enqueue one processing job per integration concerned, in one transaction (its own
 * unless the caller has one open). *out_n (may be NULL) = events put back.
 * Errors: HUB_E_INVALID (no condition), HUB_E_DB.
 */
int  hub_webhook_replay(struct hub_db *db, const struct hub_webhook_filter *filter,
                        int64_t *out_n, struct hub_error *err);

/* The events stored and not yet processed (PENDING, retries included), from every hub, and
 * the age in seconds of the oldest (0 when none). 0 or HUB_E_DB. For /healthz and /metrics. */
int  hub_webhook_backlog(struct hub_db *db, int64_t *pending, int64_t *oldest_s,
                         struct hub_error *err);

/* Internal, shared by webhook.c and webhook_process.c. */
struct hub_webhook_proc_cfg {
    struct hub_plugins *plugins;
    struct hub_sync    *sync;
    const char         *public_url;
    int                 max_attempts;
    int                 backoff_base_ms;
    int                 backoff_cap_ms;
    /* During a burst of deliveries to this hub (*busy_until_ms is ahead of the monotonic
     * clock, in ms), processing pauses up to WH_YIELD_STEPS x WH_YIELD_STEP_MS before each
     * batch, as long as it is less than yield_lag_ms behind (the age of the oldest event of
     * its last batch): a burst is acknowledged first, a sustained overload is not starved.
     * 0 or a NULL pointer: never. */
    int                 yield_lag_ms;
    const _Atomic int64_t *busy_until_ms;
};
int  hub_webhook_process_job(const struct hub_webhook_proc_cfg *cfg, struct hub_db *db,
                             int64_t integration_id, uint64_t *processed, uint64_t *retried,
                             uint64_t *failed, struct hub_error *err);
/* Enqueue a processing job for `integration_id` after delay_ms, in the caller's transaction. */
/* Stored headers (a JSON object) as sx_http_header[] borrowing the object's strings; *out is
 * calloc'd (free it), NULL with *n = 0 for anything but an object. 0 or HUB_E_NOMEM. */
struct json_object;
int  hub_webhook_headers_from_json(struct json_object *obj, sx_http_header **out, uint32_t *n);

int  hub_webhook_enqueue(struct hub_db *db, int64_t integration_id, int delay_ms,
                         struct hub_error *err);


#endif
