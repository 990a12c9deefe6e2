/*
 * The sync engine: import runs, export of Simplix-side changes, and the scheduler, all as jobs
 * of the shared queue (so several hubs share the work and a dead hub's run is resumed by
 * another).
 *
 * Jobs (payload JSON):
 *   sync.import  {"integration_id": N, "entity": "customer|product|order", "mode": "full|incremental"}
 *                dedupe key "sync:import:<N>:<entity>": one run per integration and entity.
 *   sync.export  {"integration_id": N}  dedupe key "sync:export:<N>"
 *
 * Guarantees (docs/SYNC.md):
 *   - a page and the cursor after it commit in one transaction: a killed run resumes from the
 *     last committed page, never duplicates (the mappings' unique keys) and never skips;
 *   - incremental runs ask for records updated since the start of the last completed run minus
 *     an overlap window (inclusive), and drop what the mapping store already has (same hash,
 *     or older updated_at): records sharing a timestamp, or changed during a run, are not lost;
 *   - imports are tagged with their integration, so the export never sends them back there;
 *     an export records the platform's copy in the mapping, so it does not come back as a change;
 *   - both sides changed since the last sync: the later updated_at wins, written to the log.
 */
#ifndef HUB_SYNC_ENGINE_H
#define HUB_SYNC_ENGINE_H

#include <stdint.h>

#include "core/error.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "plugin/hostapi.h"
#include "plugin/loader.h"

struct hub_worker_pool;
struct hub_sync;

#define HUB_JOB_SYNC_IMPORT "sync.import"
#define HUB_JOB_SYNC_EXPORT "sync.export"
#define HUB_JOB_SYNC_SWEEP  "sync.sweep"
#define HUB_JOB_WEBHOOK_SUBSCRIBE "webhook.subscribe"

struct hub_sync_opts {
    const char                      *conninfo;      /* for the shared rate-limit store */
    struct hub_plugins              *plugins;
    const struct hub_crypto_keyring *keys;
    const char                      *public_url;    /* for webhook callback URLs; NULL = none */
    uint32_t                         page_size;     /* 0 = 250 */
    int                              overlap_s;     /* 0 = 300 */
    /* Test hooks: the connector-visible clock, and the HTTP client's CA bundle. */
    int64_t                        (*now_ms)(void *ctx);
    void                            *now_ctx;
};

int  hub_sync_new(const struct hub_sync_opts *opts, struct hub_sync **out, struct hub_error *err);
/* After the worker pool is freed (no job may be running). */
void hub_sync_free(struct hub_sync *sync);
/* Register the job kinds with a pool (before it starts). */
int  hub_sync_register(struct hub_sync *sync, struct hub_worker_pool *pool, struct hub_error *err);
/* The runtime the engine's connector instances use (HTTP client, shared limiter, keys). */
struct hub_runtime *hub_sync_runtime(struct hub_sync *sync);

/* Close cached connector instances of `integration_id` (0 = all), e.g. after a config change. */
void hub_sync_forget(struct hub_sync *sync, int64_t integration_id);

/* Enqueue one import run (deduplicated per integration and entity). *out_job may be NULL. */
int  hub_sync_enqueue_import(struct hub_db *db, int64_t integration_id, const char *entity,
                             const char *mode, int64_t *out_job, struct hub_error *err);
/* Enqueue a deletion sweep of one entity (sync.sweep, deduplicated per integration and
 * entity); hub_sync_enqueue_import with mode "sweep" comes here. Pointers may be NULL. */
int  hub_sync_enqueue_sweep(struct hub_db *db, int64_t integration_id, const char *entity,
                            int64_t *out_job, int *out_deduped, struct hub_error *err);
int  hub_sync_enqueue_export(struct hub_db *db, int64_t integration_id, int64_t *out_job,
                             struct hub_error *err);

/*
 * One scheduler pass: for every ACTIVE integration, enqueue an incremental import of each
 * entity its sync_settings lists ({"entities": [...], "interval_s": 900}) when the last run
 * started longer ago than the interval, and an export when its outbox has changes for it.
 * Safe from every hub at once (the dedupe keys). *out_enqueued (may be NULL).
 */
int  hub_sync_schedule(struct hub_db *db, int *out_enqueued, struct hub_error *err);

#endif
