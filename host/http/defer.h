/*
 * Deferred HTTP replies: a handler that needs the database (or anything slow) hands the
 * request to a small pool of threads and returns at once; the event loop never blocks.
 *
 *     event-loop thread                     pool thread i (own struct hub_db)
 *     -----------------                     ---------------------------------
 *     handler: hub_http_defer(pool, ctx,
 *              fn, arg)  -- copies the
 *              request, queues it --------> fn(job, arg): reads the copy, queries
 *     handler returns its result (1)           job->db, fills the reply
 *                                            <-- done list + one byte on a pipe
 *     pipe event: evhttp_send_reply()
 *
 * Wiring (the daemon, after the event base exists, before the loop runs):
 *
 *     struct hub_http_defer_opts o = { .conninfo = database_url, .threads = 2,
 *                                      .queue_max = 256 };
 *     hub_http_defer_pool_new(base, &o, &pool, &err);     connects every thread first
 *     ... handlers: return hub_http_defer(pool, ctx, fn, arg);
 *     at shutdown, ON THE LOOP THREAD, before hub_http_server_free():
 *     hub_http_defer_pool_stop(pool, 5000);               drain, join, answer everything
 *     (let the loop run a little longer so the answers are written)
 *     hub_http_defer_pool_free(pool);                     before event_base_free()
 *
 * Wake-ups use a pipe, so evthread_use_pthreads() is not required (it does no harm). Only the
 * loop thread touches libevent objects; pool threads only touch their job and their own
 * connection.
 *
 * Why stop before hub_http_server_free(): evhttp_free() frees the requests of every open
 * connection, including the ones a job still holds. A request whose client went away while
 * its job ran is safe: libevent detaches it and the late reply just frees it.
 */
#ifndef HUB_HTTP_DEFER_H
#define HUB_HTTP_DEFER_H

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "db/db.h"
#include "http/server.h"

#define HUB_DEFER_THREADS_DEFAULT   2
#define HUB_DEFER_THREADS_MAX       32
#define HUB_DEFER_QUEUE_DEFAULT     256
#define HUB_DEFER_REPLY_MAX_DEFAULT (1024 * 1024)
#define HUB_DEFER_REPLY_HEADERS_MAX 8

struct hub_http_defer_pool;
/* One deferred request, as the pool thread sees it. Opaque: use the accessors below. */
struct hub_http_job;

/*
 * Runs on a pool thread. Reads the request through the job accessors, uses hub_http_job_db(),
 * and answers with hub_http_job_reply*() (the last call wins). A job that sets no reply is
 * answered 500 "internal". `arg` is what was given to hub_http_defer(), borrowed.
 */
typedef void (*hub_http_defer_fn)(struct hub_http_job *job, void *arg);

struct hub_http_defer_opts {
    const char *conninfo;    /* each thread opens its own connection; NULL = no database */
    unsigned    threads;     /* 0 = HUB_DEFER_THREADS_DEFAULT; at most HUB_DEFER_THREADS_MAX */
    unsigned    queue_max;   /* jobs waiting for a thread; 0 = HUB_DEFER_QUEUE_DEFAULT */
    size_t      reply_max;   /* largest reply body; 0 = HUB_DEFER_REPLY_MAX_DEFAULT */
};

/* Counters, for /metrics and tests. */
struct hub_http_defer_stats {
    unsigned queued;         /* waiting for a thread */
    unsigned running;        /* in fn() now */
    uint64_t done;           /* replies sent (including refusals) */
    uint64_t refused_full;   /* answered 503 because the queue was full */
    uint64_t refused_stop;   /* answered 503 because the pool was stopping */
};

/*
 * Create the pool on `base`: open one connection per thread (all of them before any thread
 * starts; any failure closes them and returns HUB_E_DB), then start the threads. Call from the
 * thread that runs `base`. *out is released with hub_http_defer_pool_free().
 */
int  hub_http_defer_pool_new(struct event_base *base, const struct hub_http_defer_opts *opts,
                             struct hub_http_defer_pool **out, struct hub_error *err);

/*
 * Graceful stop. Must be called on the loop thread. New hub_http_defer() calls are answered
 * 503 "shutting_down" from now on. The threads keep taking queued jobs until the queue is
 * empty or `timeout_ms` has passed (< 0: no limit); jobs still queued then are answered 503
 * "shutting_down" without running. Jobs already running are always waited for (a thread
 * cannot be cancelled safely). The threads are joined, their connections closed, and every
 * reply is handed to evhttp before this returns; the loop must run afterwards to write them.
 * Idempotent.
 */
void hub_http_defer_pool_stop(struct hub_http_defer_pool *pool, int timeout_ms);

/* Stop (with no time limit) if not stopped yet, then free. Before event_base_free(). NULL ok. */
void hub_http_defer_pool_free(struct hub_http_defer_pool *pool);

/* A consistent snapshot of the counters. Thread-safe. */
void hub_http_defer_pool_stats(struct hub_http_defer_pool *pool,
                               struct hub_http_defer_stats *out);

/*
 * From a handler, on the loop thread: copy what the request carries (method, path, query,
 * route parameters, headers, body, peer) into a job and queue `fn(job, arg)` for a pool
 * thread. Returns 1 (the handler returns it: "answered later"), or, when the queue is full or
 * the pool is stopping, answers 503 at once with a JSON error and returns 0. Out of memory is
 * answered 503 too. `arg` must stay valid until the reply is sent (a long-lived context; per
 * request data belongs in the request, which is copied).
 */
int  hub_http_defer(struct hub_http_defer_pool *pool, struct hub_http_ctx *ctx,
                    hub_http_defer_fn fn, void *arg);

/* ---- on the pool thread, inside fn -------------------------------------------------------- */

/* The thread's own connection (checked with hub_db_ensure before fn runs; NULL when the pool
 * has no database). Do not keep it past fn; leave it outside any transaction. */
struct hub_db *hub_http_job_db(struct hub_http_job *job);
int         hub_http_job_method(const struct hub_http_job *job);        /* HUB_M_* */
const char *hub_http_job_path(const struct hub_http_job *job);          /* decoded, no query */
const char *hub_http_job_query(const struct hub_http_job *job);         /* raw, or NULL */
const char *hub_http_job_peer(const struct hub_http_job *job);
/* Route parameter by name (decoded), or NULL. */
const char *hub_http_job_param(const struct hub_http_job *job, const char *name);
/* Request header by name (case-insensitive, first one), or NULL. */
const char *hub_http_job_header(const struct hub_http_job *job, const char *name);
/* The request body (*len bytes, followed by a NUL that is not counted). */
const unsigned char *hub_http_job_body(const struct hub_http_job *job, size_t *len);

/*
 * Set the reply: status, content type (NULL = none) and `len` bytes of body (copied). Bodies
 * over the pool's reply_max are replaced by a 500 "reply_too_large". Every reply also gets
 * Cache-Control: no-store and X-Content-Type-Options: nosniff.
 */
void hub_http_job_reply(struct hub_http_job *job, int status, const char *content_type,
                        const void *body, size_t len);
/* {"error":{"code":"<code>","message":"<message>"}} with `status`. */
void hub_http_job_reply_error(struct hub_http_job *job, int status, const char *code,
                              const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Add a response header (copied; at most HUB_DEFER_REPLY_HEADERS_MAX, names and values
 * without CR/LF). 0, HUB_E_LIMIT or HUB_E_INVALID. */
int  hub_http_job_add_header(struct hub_http_job *job, const char *name, const char *value);

#endif
