/*
 * A pool of worker threads that run jobs of one queue (queue.h).
 *
 * Each worker thread has its own database connection and a unique id "hostname:pid:n". It
 * claims a batch of jobs of the kinds registered with hub_worker_register(), runs each
 * handler, then completes or fails the job. When nothing is runnable it sleeps until a
 * NOTIFY on HUB_QUEUE_CHANNEL for its queue wakes it, or at most poll_ms (the fallback poll
 * finds delayed jobs, retries whose run_at came, and anything a lost notification missed).
 *
 * One supervisor thread per pool owns a further connection: it LISTENs and wakes the workers,
 * and heartbeats the leases of every job the pool holds (every lease_ms / 3), so a long job
 * keeps its lease while the process lives and loses it soon after the process dies. Every
 * reap_interval_ms one of the workers runs hub_queue_reap(), which returns jobs of dead
 * workers (of any process) to the queue.
 *
 * Delivery is at-least-once: a process killed mid-job leaves that job's side effects, and
 * the job runs again after its lease expires. Handlers must be idempotent. A handler
 * registered with HUB_WORKER_TX runs inside a transaction on run->db that also marks the job
 * done, so its database work commits exactly once (its other side effects still may repeat).
 * That transaction stays open for the whole handler: use HUB_WORKER_TX for handlers that
 * only touch the database, not for ones that wait on a platform over HTTP.
 *
 * A handler that hangs keeps its lease as long as the process heartbeats: there is no
 * per-job time limit yet; handlers bound their own I/O.
 *
 * Thread rules: create, register, start, stop and free from one controlling thread.
 * Handlers run on the worker threads, several at once; `ctx` must be safe for that.
 */
#ifndef HUB_QUEUE_WORKER_H
#define HUB_QUEUE_WORKER_H

#include <stdint.h>

#include "core/arena.h"
#include "core/error.h"
#include "db/db.h"
#include "queue/queue.h"

#define HUB_WORKER_THREADS_MAX 64

/* Register flags */
#define HUB_WORKER_TX 0x1u      /* run the handler and the completion in one transaction */

struct hub_worker_pool;

/* What a handler gets besides the job. */
struct hub_job_run {
    struct hub_db          *db;         /* the worker thread's connection; outside a
                                         * transaction unless registered with HUB_WORKER_TX */
    struct hub_arena       *arena;      /* per job, freed after the job */
    const char             *worker_id;
    struct hub_worker_pool *pool;
    /* Set by the handler: */
    const char             *result;     /* JSON for jobs.result on success (arena/static) */
    int                     retry_after_ms; /* > 0: retry after this instead of the backoff
                                             * (e.g. a platform's Retry-After) */
};

/*
 * A handler returns 0 when the job is done, or a negative HUB_E_* with the message in `err`:
 * permanent codes (hub_queue_error_is_permanent: HUB_E_INVALID, HUB_E_REJECTED, ...) make the
 * job dead at once; the others are retried with backoff until max_attempts, then dead.
 */
struct hub_worker_handler {
    char   kind[HUB_QUEUE_NAME_MAX];
    int  (*fn)(const struct hub_job *job, struct hub_job_run *run, void *ctx,
               struct hub_error *err);
    void    *ctx;
    unsigned flags;
};

/* Zero-initialise; 0 means the default shown. */
struct hub_worker_config {
    const char *conninfo;           /* required */
    const char *queue;              /* "default" */
    int         threads;            /* 4 (max HUB_WORKER_THREADS_MAX) */
    int         batch;              /* 1: jobs per claim (a worker runs them in turn) */
    int         lease_ms;           /* 30000 */
    int         poll_ms;            /* 1000: fallback poll without a notification */
    int         reap_interval_ms;   /* 5000 */
    int         backoff_base_ms;    /* 1000 */
    int         backoff_cap_ms;     /* 600000 */
};

/* Totals since start, for logs, metrics and tests. */
struct hub_worker_counters {
    int64_t claimed;
    int64_t done;
    int64_t retried;        /* failed with a retry scheduled */
    int64_t dead;
    int64_t stale;          /* the lease was lost before the job ended */
    int64_t released;       /* given back at stop */
    int64_t reaped;         /* expired leases this pool's reaper put back */
    int64_t wakeups;        /* notifications received for the queue */
};

/* Allocate a pool (no thread, no connection yet). *out is freed with hub_worker_pool_free. */
int  hub_worker_pool_create(const struct hub_worker_config *cfg, struct hub_worker_pool **out,
                            struct hub_error *err);

/* Run `fn` for jobs of `kind`. Before hub_worker_pool_start() only. HUB_E_INVALID for a bad
 * or duplicate kind, HUB_E_LIMIT past HUB_QUEUE_KINDS_MAX kinds. */
int  hub_worker_register(struct hub_worker_pool *pool, const char *kind,
                         int (*fn)(const struct hub_job *job, struct hub_job_run *run,
                                   void *ctx, struct hub_error *err),
                         void *ctx);
int  hub_worker_register_flags(struct hub_worker_pool *pool, const char *kind,
                               int (*fn)(const struct hub_job *job, struct hub_job_run *run,
                                         void *ctx, struct hub_error *err),
                               void *ctx, unsigned flags);

/* Open the connections (threads + 1), LISTEN, start the threads. Returns once all are
 * connected: 0, or HUB_E_DB / HUB_E_NOMEM / HUB_E_INVALID (nothing left running). */
int  hub_worker_pool_start(struct hub_worker_pool *pool, struct hub_error *err);

/*
 * Graceful stop: no new claims; jobs already claimed but not started are released at once;
 * running jobs get up to drain_timeout_ms to finish (their leases are still heartbeated).
 * Then every job still running is released (queued again, the attempt not counted) so that
 * another process can take it; its handler's eventual result is dropped (HUB_E_STALE).
 * *out_released (may be NULL) = jobs released by this timeout. Returns without waiting for
 * such handlers (hub_worker_pool_free does); they see hub_worker_stopping() == 1.
 */
int  hub_worker_pool_stop(struct hub_worker_pool *pool, int drain_timeout_ms, int *out_released);

/* Stop (drain 0) if running, wait for every thread, close the connections, free. */
void hub_worker_pool_free(struct hub_worker_pool *pool);

/* 1 once a stop began: long handlers should return soon (their job will be released). */
int  hub_worker_stopping(const struct hub_job_run *run);

void hub_worker_pool_counters(struct hub_worker_pool *pool, struct hub_worker_counters *out);

/* The id of worker thread i (0 .. threads-1), valid after start. NULL when out of range. */
const char *hub_worker_pool_worker_id(struct hub_worker_pool *pool, int i);

#endif
