/*
 * The job queue: rows of the `jobs` table (migrations/0005_jobs.sql), shared by every
 * simplix-hub process on one PostgreSQL database.
 *
 * A worker claims runnable rows with UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED
 * LIMIT n), so concurrent claimers never block on nor take each other's rows. A claim is a
 * lease: status 'running', locked_by = the worker id, locked_until = now() + lease. The owner
 * ends it with complete / fail / release, or prolongs it with extend (heartbeat). A lease that
 * expires means its worker died; hub_queue_reap() puts such jobs back (the attempt counts).
 * Every state change after the claim checks locked_by, so a worker that lost its lease gets
 * HUB_E_STALE instead of overwriting the new owner's state.
 *
 * Delivery is at-least-once: a process killed mid-job leaves side effects that the job's next
 * run repeats. Handlers must be idempotent (or do their database work in the same transaction
 * as hub_queue_complete(), which makes it exactly-once for that work).
 *
 * Enqueue runs pg_notify('sx_jobs', queue) in the same transaction, so a LISTENing process
 * (hub_queue_listen / hub_queue_wait) wakes when the row becomes visible.
 *
 * All functions take a connection owned by the calling thread (see db/db.h) and may be called
 * inside a transaction the caller opened; they never open one themselves except where noted.
 */
#ifndef HUB_QUEUE_QUEUE_H
#define HUB_QUEUE_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/error.h"
#include "db/db.h"

#define HUB_QUEUE_CHANNEL       "sx_jobs"
#define HUB_QUEUE_DEFAULT       "default"
#define HUB_QUEUE_NAME_MAX      64      /* queue and kind names: [A-Za-z0-9_.:-], 1..63 bytes */
#define HUB_QUEUE_WORKER_ID_MAX 128
#define HUB_QUEUE_ERROR_MAX     2000    /* last_error is cut to this many bytes */
#define HUB_QUEUE_CLAIM_MAX     256     /* largest batch one claim may take */
#define HUB_QUEUE_KINDS_MAX     64

enum hub_job_status {
    HUB_JOB_QUEUED  = 0,
    HUB_JOB_RUNNING = 1,
    HUB_JOB_DONE    = 2,
    HUB_JOB_FAILED  = 3,    /* last attempt failed, retried at run_at */
    HUB_JOB_DEAD    = 4
};

/* What to enqueue. Zero-initialise and fill what you need. */
struct hub_job_spec {
    const char *queue;          /* NULL = "default" */
    const char *kind;           /* required: selects the handler */
    const char *payload;        /* JSON text (validated by PostgreSQL); NULL = {} */
    const char *dedupe_key;     /* NULL = none; else at most one pending job per key */
    int         priority;       /* higher runs first; default 0 */
    int         delay_ms;       /* run_at = now() + delay_ms; 0 = now */
    int         max_attempts;   /* 0 = 5 */
    int64_t     organization_id;    /* 0 = none */
    int64_t     integration_id;     /* 0 = none */
};

/* A claimed job. Strings live in the arena passed to hub_queue_claim(). */
struct hub_job {
    int64_t     id;
    const char *queue;
    const char *kind;
    const char *payload;        /* JSON text, never NULL */
    const char *dedupe_key;     /* NULL when none */
    int64_t     organization_id;    /* 0 when none */
    int64_t     integration_id;
    int         priority;
    int         attempts;       /* claims so far, this one included (1 on the first run) */
    int         max_attempts;
    char        locked_by[HUB_QUEUE_WORKER_ID_MAX];
};

/* Which jobs a claim may take, and for whom. */
struct hub_claim_req {
    const char        *queue;       /* NULL = "default" */
    const char *const *kinds;       /* only these kinds (the ones this process can run); */
    size_t             nkinds;      /* NULL / 0 = any kind */
    const char        *worker_id;   /* stored in locked_by; see hub_queue_worker_id() */
    int                lease_ms;    /* > 0 */
};

struct hub_queue_stats {
    int64_t queued;
    int64_t running;
    int64_t done;
    int64_t failed;
    int64_t dead;
    int64_t oldest_queued_ms;   /* how long the oldest runnable queued/failed job has waited
                                 * since its run_at; 0 when none is runnable */
};

/* 1 when `name` is a valid queue or kind name. */
int hub_queue_name_ok(const char *name);

/*
 * Insert a job and notify listeners of its queue (on commit, when the caller is inside a
 * transaction). With a dedupe_key and a pending job of that key, inserts nothing: *out_id
 * is the pending job and *out_deduped 1. out_id and out_deduped may be NULL.
 * Errors: HUB_E_INVALID (bad spec or payload JSON), HUB_E_DB.
 */
int hub_queue_enqueue(struct hub_db *db, const struct hub_job_spec *spec, int64_t *out_id,
                      int *out_deduped, struct hub_error *err);

/*
 * Insert many jobs, 1,000 per statement (a scheduler's fan-out, a backfill): like
 * hub_queue_enqueue() for each, but with one notification per queue and no ids back. Jobs
 * whose dedupe key is pending (or repeated within `specs`) are skipped; *out_inserted (may be
 * NULL) counts the rows inserted. Not atomic across chunks unless the caller opened a
 * transaction. Errors: HUB_E_INVALID (a bad spec or payload: that chunk inserts nothing),
 * HUB_E_LIMIT, HUB_E_DB.
 */
int hub_queue_enqueue_many(struct hub_db *db, const struct hub_job_spec *specs, size_t n,
                           size_t *out_inserted, struct hub_error *err);

/*
 * Claim up to `cap` runnable jobs (status queued or failed, run_at <= now()) of req->queue,
 * highest priority first, then oldest run_at. Each becomes running, leased to req->worker_id
 * for req->lease_ms, its attempts incremented. Fills out[0 .. *out_n); strings are allocated
 * from `arena` (freed with it). *out_n == 0 means nothing is runnable.
 * Errors: HUB_E_INVALID, HUB_E_NOMEM, HUB_E_DB.
 */
int hub_queue_claim(struct hub_db *db, const struct hub_claim_req *req, struct hub_arena *arena,
                    struct hub_job *out, size_t cap, size_t *out_n, struct hub_error *err);

/* Mark a claimed job done, storing `result_json` (NULL = none) in jobs.result.
 * HUB_E_STALE when the job is no longer leased to job->locked_by. */
int hub_queue_complete(struct hub_db *db, const struct hub_job *job, const char *result_json,
                       struct hub_error *err);

/*
 * Record a failed attempt of a claimed job, keeping `error` (cut to HUB_QUEUE_ERROR_MAX) in
 * last_error. When `permanent`, or when attempts reached max_attempts, the job becomes dead;
 * otherwise it becomes failed and runs again after retry_delay_ms (see hub_queue_backoff_ms).
 * *out_status (may be NULL) is the new status. HUB_E_STALE when the lease was lost.
 */
int hub_queue_fail(struct hub_db *db, const struct hub_job *job, const char *error,
                   int retry_delay_ms, int permanent, enum hub_job_status *out_status,
                   struct hub_error *err);

/* Give a claimed job back without counting the attempt (graceful shutdown): queued, keeping
 * its run_at (so its place in line). HUB_E_STALE when the lease was lost. */
int hub_queue_release(struct hub_db *db, const struct hub_job *job, struct hub_error *err);

/* Release every job running under `worker_id`; *out_n (may be NULL) = how many. */
int hub_queue_release_worker(struct hub_db *db, const char *worker_id, int *out_n,
                             struct hub_error *err);

/* Heartbeat: locked_until = now() + lease_ms for one job. HUB_E_STALE when the lease was lost
 * (expired and reaped, or taken by another worker). */
int hub_queue_extend(struct hub_db *db, const struct hub_job *job, int lease_ms,
                     struct hub_error *err);

/* Heartbeat every job running under `worker_id`; *out_n (may be NULL) = how many. */
int hub_queue_extend_worker(struct hub_db *db, const char *worker_id, int lease_ms, int *out_n,
                            struct hub_error *err);

/*
 * Put back up to `max` jobs whose lease expired (their worker died or hung): queued with
 * their run_at unchanged (so ahead of jobs enqueued since), or dead when that was the last
 * allowed attempt; last_error names the lost worker. The attempt counts (it was counted at
 * the claim). Safe to run from every process at once (SKIP LOCKED). *out_n (may be NULL).
 */
int hub_queue_reap(struct hub_db *db, int max, int *out_n, struct hub_error *err);

/*
 * Replay a dead job (admin action): queued again now with attempts 0 and its last_error kept
 * until the next run. HUB_E_NOT_FOUND when `id` is not dead; HUB_E_CONFLICT when another
 * pending job holds its dedupe key.
 */
int hub_queue_retry_dead(struct hub_db *db, int64_t id, struct hub_error *err);

/* Delete up to `max` done jobs that finished more than older_than_ms ago (dead jobs stay for
 * replay). *out_n (may be NULL) = rows deleted. Safe to run from every process at once. */
int hub_queue_purge(struct hub_db *db, int64_t older_than_ms, int max, int *out_n,
                    struct hub_error *err);

/* Depth per status and age of the oldest waiting job, of one queue (NULL = all queues). */
int hub_queue_stats(struct hub_db *db, const char *queue, struct hub_queue_stats *out,
                    struct hub_error *err);

/* Status of one job, its attempts and last_error copied into `last_error` (may be NULL).
 * HUB_E_NOT_FOUND when there is no such job. Mostly for tests and the admin API. */
int hub_queue_job_status(struct hub_db *db, int64_t id, enum hub_job_status *out_status,
                         int *out_attempts, char *last_error, size_t cap,
                         struct hub_error *err);

/* LISTEN on HUB_QUEUE_CHANNEL on this connection (to be kept outside transactions). */
int hub_queue_listen(struct hub_db *db, struct hub_error *err);

/*
 * Wait up to timeout_ms for notifications on a LISTENing connection, or for `wake_fd`
 * (-1 = none) to become readable (it is not read). Returns the number of notifications for
 * `queue` (NULL = any queue) that arrived, 0 on timeout / wake_fd / other queues only, or
 * HUB_E_DB when the connection broke.
 */
int hub_queue_wait(struct hub_db *db, const char *queue, int timeout_ms, int wake_fd,
                   struct hub_error *err);

/* Retry delay with exponential backoff and full jitter: uniform in
 * [0, min(cap_ms, base_ms * 2^(attempts-1))]. Thread-safe. */
int hub_queue_backoff_ms(int attempts, int base_ms, int cap_ms);

/* 1 for codes no retry can cure (HUB_E_INVALID, HUB_E_REJECTED, HUB_E_UNSUPPORTED, ...). */
int hub_queue_error_is_permanent(int code);

/* "hostname:pid:<n>" into out (cap bytes), with n a per-process counter. Thread-safe. */
int hub_queue_worker_id(char *out, size_t cap);

const char *hub_job_status_name(enum hub_job_status st);
/* -1 when unknown */
int hub_job_status_parse(const char *s);

#endif
