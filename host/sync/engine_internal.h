/*
 * Internal to host/sync: what engine.c (runs, instances, scheduler) and export.c (the outbox
 * consumer) share. Not part of the host's public API.
 */
#ifndef HUB_SYNC_ENGINE_INTERNAL_H
#define HUB_SYNC_ENGINE_INTERNAL_H

#include <pthread.h>

#include "queue/worker.h"
#include "sync/engine.h"

struct cached {
    int64_t              integration_id;
    char                 version[64];      /* integrations.updated_at when opened */
    struct hub_instance *inst;
    int                  refs;
    int                  stale;
    struct cached       *next;
};

struct hub_sync {
    struct hub_sync_opts opts;
    struct hub_runtime   rt;
    struct hub_rate_pg  *rate_pg;
    pthread_mutex_t      lock;
    struct cached       *cache;
};

/* What a run needs to know of its integration. */
struct integ {
    int64_t id;
    int64_t org;
    char    platform[72];
    char    status[32];
    char    version[64];
    char   *config;          /* malloc'd JSON text */
    char   *settings;        /* malloc'd JSON text */
    int     reconcile_full;  /* a reconciliation reads everything, not a window */
};


void                 hub_sync_integ_free(struct integ *in);
int                  hub_sync_integ_load(struct hub_db *db, int64_t id, struct integ *out,
                                         struct hub_error *err);
int64_t              hub_sync_setting_int(const struct integ *in, const char *key, int64_t dflt,
                                          int64_t min, int64_t max);
int                  hub_sync_setting_bool(const struct integ *in, const char *key, int dflt);
int                  hub_sync_setting_direction(const struct integ *in, const char *entity,
                                                const char *direction);
struct hub_instance *hub_sync_instance_get(struct hub_sync *s, struct hub_db *db,
                                           const struct integ *in, struct hub_error *err);
void                 hub_sync_instance_put(struct hub_sync *s, struct hub_instance *inst);
/* The start of every run of an integration: load it, skip it unless ACTIVE, open (or reuse)
 * its connector instance and refresh its token. 0: ready, *in and *inst held (release with
 * hub_sync_instance_put and hub_sync_integ_free); 1: skipped, run->result says why, nothing
 * held; < 0: the code to return from the job. */
int                  hub_sync_job_begin(struct hub_sync *s, struct hub_job_run *run,
                                        int64_t integration_id, struct integ *in,
                                        struct hub_instance **inst, struct hub_error *err);
int                  hub_sync_fresh_token(struct hub_sync *s, struct hub_db *db,
                                          struct hub_instance *inst, struct hub_error *err);
int                  hub_sync_entity_ok(const char *e);
uint32_t             hub_sync_entity_id(const char *e);
int                  hub_sync_retryable(int sx_code);
/* The sync.import job handler (import.c). */
int                  hub_sync_job_import(const struct hub_job *job, struct hub_job_run *run,
                                         void *ctx, struct hub_error *err);
/* The sync.sweep job handler (sweep.c). */
int                  hub_sync_job_sweep(const struct hub_job *job, struct hub_job_run *run,
                                        void *ctx, struct hub_error *err);
/* The sync.export job handler (export.c). */
int                  hub_sync_job_export(const struct hub_job *job, struct hub_job_run *run,
                                         void *ctx, struct hub_error *err);

#endif
