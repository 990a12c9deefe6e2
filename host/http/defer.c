/* Deferred HTTP replies: a fixed pool of threads with their own connections (defer.h). */
#include "http/defer.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Bound on what one job's copy of the request may hold (the server's limits are far lower). */
#define JOB_ARENA_CAP   (64u * 1024 * 1024)
#define JOB_HEADERS_MAX 256

struct hub_http_job {
    struct hub_http_job        *next;
    struct hub_http_defer_pool *pool;
    struct evhttp_request      *req;
    hub_http_defer_fn           fn;
    void                       *arg;
    struct hub_db              *db;
    struct hub_arena            arena;          /* the copy of the request */

    int                         method;
    const char                 *path;
    const char                 *query;
    const char                 *peer;
    size_t                      n_params;
    const char                 *param_names[HUB_ROUTE_PARAMS_MAX];
    const char                 *param_values[HUB_ROUTE_PARAMS_MAX];
    size_t                      n_headers;
    const char                **header_names;
    const char                **header_values;
    const unsigned char        *body;
    size_t                      body_len;

    /* The reply, filled on the pool thread, sent on the loop thread. */
    int                         status;         /* 0 = none set */
    int                         cancelled;      /* never ran: 503 shutting_down */
    char                       *content_type;
    char                       *reply;
    size_t                      reply_len;
    size_t                      n_rheaders;
    char                       *rheader_names[HUB_DEFER_REPLY_HEADERS_MAX];
    char                       *rheader_values[HUB_DEFER_REPLY_HEADERS_MAX];
};

struct hub_http_defer_pool {
    struct event_base   *base;
    struct event        *wake;
    int                  pipe_rd;
    int                  pipe_wr;
    size_t               reply_max;
    unsigned             queue_max;
    int                  has_db;

    pthread_mutex_t      lock;
    pthread_cond_t       work;          /* a job was queued, or quit */
    pthread_cond_t       progress;      /* a thread finished a job or exited */
    struct hub_http_job *q_head, *q_tail;
    struct hub_http_job *d_head, *d_tail;
    unsigned             queued;
    unsigned             running;
    unsigned             alive;         /* threads not yet exited */
    int                  stopping;      /* hub_http_defer refuses */
    int                  quit;          /* threads exit once the queue is empty */
    int                  stopped;       /* joined and delivered */
    uint64_t             n_done;
    uint64_t             n_refused_full;
    uint64_t             n_refused_stop;

    unsigned             n_threads;
    pthread_t           *threads;
    struct hub_db       *dbs;
};

struct thread_arg {
    struct hub_http_defer_pool *pool;
    struct hub_db              *db;
};

/* ---- jobs ---------------------------------------------------------------------------------- */

static void
job_free(struct hub_http_job *job)
{
    size_t i;

    if (job == NULL)
        return;
    for (i = 0; i < job->n_rheaders; i++) {
        free(job->rheader_names[i]);
        free(job->rheader_values[i]);
    }
    free(job->content_type);
    free(job->reply);
    free(job->header_names);
    free(job->header_values);
    hub_arena_destroy(&job->arena);
    free(job);
}

/* Copy the request out of evhttp's hands: the handler's ctx dies when it returns. */
static struct hub_http_job *
job_new(struct hub_http_defer_pool *pool, struct hub_http_ctx *ctx, hub_http_defer_fn fn,
        void *arg)
{
    struct hub_http_job *job = calloc(1, sizeof(*job));
    struct evkeyvalq    *hdrs;
    struct evkeyval     *kv;
    const unsigned char *body;
    size_t               i, n;
    char                *b;

    if (job == NULL)
        return NULL;
    hub_arena_init(&job->arena, JOB_ARENA_CAP);
    job->pool = pool;
    job->req = ctx->req;
    job->fn = fn;
    job->arg = arg;
    job->method = ctx->method;
    job->path = hub_arena_strdup(&job->arena, ctx->path != NULL ? ctx->path : "/");
    job->peer = hub_arena_strdup(&job->arena, ctx->peer != NULL ? ctx->peer : "?");
    if (job->path == NULL || job->peer == NULL)
        goto fail;
    if (ctx->query != NULL) {
        job->query = hub_arena_strdup(&job->arena, ctx->query);
        if (job->query == NULL)
            goto fail;
    }
    for (i = 0; i < ctx->n_params && i < HUB_ROUTE_PARAMS_MAX; i++) {
        job->param_names[i] = hub_arena_strdup(&job->arena, ctx->param_names[i]);
        job->param_values[i] = hub_arena_strdup(&job->arena, ctx->param_values[i]);
        if (job->param_names[i] == NULL || job->param_values[i] == NULL)
            goto fail;
        job->n_params++;
    }

    hdrs = evhttp_request_get_input_headers(ctx->req);
    n = 0;
    for (kv = hdrs->tqh_first; kv != NULL && n < JOB_HEADERS_MAX; kv = kv->next.tqe_next)
        n++;
    if (n > 0) {
        job->header_names = calloc(n, sizeof(*job->header_names));
        job->header_values = calloc(n, sizeof(*job->header_values));
        if (job->header_names == NULL || job->header_values == NULL)
            goto fail;
        for (kv = hdrs->tqh_first; kv != NULL && job->n_headers < n; kv = kv->next.tqe_next) {
            job->header_names[job->n_headers] = hub_arena_strdup(&job->arena, kv->key);
            job->header_values[job->n_headers] = hub_arena_strdup(&job->arena, kv->value);
            if (job->header_names[job->n_headers] == NULL ||
                job->header_values[job->n_headers] == NULL)
                goto fail;
            job->n_headers++;
        }
    }

    body = hub_http_body(ctx, &job->body_len);
    b = hub_arena_alloc(&job->arena, job->body_len + 1);
    if (b == NULL)
        goto fail;
    if (job->body_len > 0)
        memcpy(b, body, job->body_len);
    b[job->body_len] = '\0';
    job->body = (const unsigned char *)b;
    return job;

fail:
    job_free(job);
    return NULL;
}

static void
add_headers(struct evhttp_request *req, const char *content_type)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    if (content_type != NULL)
        evhttp_add_header(h, "Content-Type", content_type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
}

/* On the loop thread: hand the reply to evhttp and free the job. */
static void
job_deliver(struct hub_http_job *job)
{
    struct evbuffer *b;
    size_t           i;

    if (job->cancelled) {
        hub_http_send_error(job->req, 503, "shutting_down",
                            "the hub is shutting down; try again shortly");
        job_free(job);
        return;
    }
    if (job->status == 0) {
        hub_http_send_error(job->req, 500, "internal", "the request produced no answer");
        job_free(job);
        return;
    }
    add_headers(job->req, job->content_type);
    for (i = 0; i < job->n_rheaders; i++)
        evhttp_add_header(evhttp_request_get_output_headers(job->req), job->rheader_names[i],
                          job->rheader_values[i]);
    b = evbuffer_new();
    if (b != NULL && job->reply_len > 0)
        evbuffer_add(b, job->reply, job->reply_len);
    evhttp_send_reply(job->req, job->status, NULL, b);
    if (b != NULL)
        evbuffer_free(b);
    job_free(job);
}

/* Take the whole done list (under the lock) and deliver it (without). Loop thread only. */
static void
deliver_done(struct hub_http_defer_pool *pool)
{
    struct hub_http_job *job, *next;
    uint64_t             n = 0;

    pthread_mutex_lock(&pool->lock);
    job = pool->d_head;
    pool->d_head = pool->d_tail = NULL;
    pthread_mutex_unlock(&pool->lock);
    for (; job != NULL; job = next) {
        next = job->next;
        job_deliver(job);
        n++;
    }
    if (n > 0) {
        pthread_mutex_lock(&pool->lock);
        pool->n_done += n;
        pthread_mutex_unlock(&pool->lock);
    }
}

static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
    char    buf[256];
    ssize_t r;
    int     bound = 1024;

    (void)what;
    /* Empty the pipe first, then the list: a job queued after the list was taken writes a
     * new byte, so no wake-up is lost. */
    do {
        r = read(fd, buf, sizeof(buf));
    } while ((r > 0 || (r < 0 && errno == EINTR)) && --bound > 0);
    deliver_done(arg);
}

static void
wake_loop(struct hub_http_defer_pool *pool)
{
    char    c = 1;
    ssize_t r;

    /* A full pipe (EAGAIN) already holds a pending wake-up. */
    do {
        r = write(pool->pipe_wr, &c, 1);
    } while (r < 0 && errno == EINTR);
}

/* With the lock held: append to the done list. */
static void
done_push_locked(struct hub_http_defer_pool *pool, struct hub_http_job *job)
{
    job->next = NULL;
    if (pool->d_tail != NULL)
        pool->d_tail->next = job;
    else
        pool->d_head = job;
    pool->d_tail = job;
}

/* ---- threads ------------------------------------------------------------------------------- */

static void
job_run(struct hub_http_job *job, struct hub_db *db)
{
    struct hub_error err;

    if (db != NULL) {
        if (hub_db_ensure(db, &err) < 0) {
            hub_log_warn("http", "deferred request %s: database unavailable: %s", job->path,
                         err.msg);
            hub_http_job_reply_error(job, 503, "database_unavailable",
                                     "the database is unavailable; try again shortly");
            return;
        }
        job->db = db;
    }
    job->fn(job, job->arg);
    /* A handler that left a transaction open must not leak it into the next request. */
    if (db != NULL && db->conn != NULL && PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
        hub_log_warn("http", "deferred request %s left a transaction open; rolled back",
                     job->path);
        hub_db_rollback(db);
    }
    job->db = NULL;
}

static void *
thread_main(void *p)
{
    struct thread_arg           *ta = p;
    struct hub_http_defer_pool *pool = ta->pool;
    struct hub_db              *db = ta->db;
    struct hub_http_job        *job;

    free(ta);
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (pool->q_head == NULL && !pool->quit)
            pthread_cond_wait(&pool->work, &pool->lock);
        if (pool->q_head == NULL)
            break;                                  /* quit and nothing left */
        job = pool->q_head;
        pool->q_head = job->next;
        if (pool->q_head == NULL)
            pool->q_tail = NULL;
        pool->queued--;
        pool->running++;
        pthread_mutex_unlock(&pool->lock);

        job_run(job, db);

        pthread_mutex_lock(&pool->lock);
        pool->running--;
        done_push_locked(pool, job);
        pthread_cond_broadcast(&pool->progress);
        wake_loop(pool);
    }
    pool->alive--;
    pthread_cond_broadcast(&pool->progress);
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

/* ---- pool ---------------------------------------------------------------------------------- */

static void
close_dbs(struct hub_http_defer_pool *pool)
{
    unsigned i;

    if (pool->dbs == NULL)
        return;
    for (i = 0; i < pool->n_threads; i++)
        hub_db_close(&pool->dbs[i]);
}

static void
pool_destroy(struct hub_http_defer_pool *pool)
{
    if (pool->wake != NULL)
        event_free(pool->wake);
    if (pool->pipe_rd >= 0)
        close(pool->pipe_rd);
    if (pool->pipe_wr >= 0)
        close(pool->pipe_wr);
    close_dbs(pool);
    free(pool->dbs);
    free(pool->threads);
    pthread_cond_destroy(&pool->work);
    pthread_cond_destroy(&pool->progress);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}

int
hub_http_defer_pool_new(struct event_base *base, const struct hub_http_defer_opts *opts,
                        struct hub_http_defer_pool **out, struct hub_error *err)
{
    struct hub_http_defer_pool *pool;
    pthread_condattr_t          ca;
    int                         fds[2];
    unsigned                    i;
    int                         rc;

    *out = NULL;
    if (opts->threads > HUB_DEFER_THREADS_MAX)
        return hub_error_set(err, HUB_E_CONFIG, "deferred HTTP pool: %u threads > %d",
                             opts->threads, HUB_DEFER_THREADS_MAX);
    pool = calloc(1, sizeof(*pool));
    if (pool == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "out of memory");
    pool->pipe_rd = pool->pipe_wr = -1;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&pool->progress, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&pool->work, NULL);
    pool->base = base;
    pool->n_threads = opts->threads != 0 ? opts->threads : HUB_DEFER_THREADS_DEFAULT;
    pool->queue_max = opts->queue_max != 0 ? opts->queue_max : HUB_DEFER_QUEUE_DEFAULT;
    pool->reply_max = opts->reply_max != 0 ? opts->reply_max : HUB_DEFER_REPLY_MAX_DEFAULT;
    pool->has_db = opts->conninfo != NULL;
    pool->threads = calloc(pool->n_threads, sizeof(*pool->threads));
    pool->dbs = calloc(pool->n_threads, sizeof(*pool->dbs));
    if (pool->threads == NULL || pool->dbs == NULL) {
        rc = hub_error_set(err, HUB_E_NOMEM, "out of memory");
        goto fail;
    }
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        rc = hub_error_set(err, HUB_E_IO, "deferred HTTP pool: pipe: %s", strerror(errno));
        goto fail;
    }
    pool->pipe_rd = fds[0];
    pool->pipe_wr = fds[1];
    pool->wake = event_new(base, pool->pipe_rd, EV_READ | EV_PERSIST, on_wake, pool);
    if (pool->wake == NULL || event_add(pool->wake, NULL) != 0) {
        rc = hub_error_set(err, HUB_E_NOMEM, "deferred HTTP pool: cannot create its event");
        goto fail;
    }
    /* Every connection before any thread: a pool that cannot reach the database does not
     * start half-way. */
    if (pool->has_db) {
        for (i = 0; i < pool->n_threads; i++) {
            rc = hub_db_connect(&pool->dbs[i], opts->conninfo, err);
            if (rc < 0) {
                hub_error_prefix(err, "deferred HTTP pool, connection %u", i + 1);
                goto fail;
            }
        }
    }
    for (i = 0; i < pool->n_threads; i++) {
        struct thread_arg *ta = malloc(sizeof(*ta));

        if (ta == NULL) {
            rc = hub_error_set(err, HUB_E_NOMEM, "out of memory");
            goto fail_threads;
        }
        ta->pool = pool;
        ta->db = pool->has_db ? &pool->dbs[i] : NULL;
        pthread_mutex_lock(&pool->lock);
        pool->alive++;
        pthread_mutex_unlock(&pool->lock);
        if (pthread_create(&pool->threads[i], NULL, thread_main, ta) != 0) {
            free(ta);
            pthread_mutex_lock(&pool->lock);
            pool->alive--;
            pthread_mutex_unlock(&pool->lock);
            rc = hub_error_set(err, HUB_E_INTERNAL, "deferred HTTP pool: cannot start a thread");
            goto fail_threads;
        }
    }
    *out = pool;
    return 0;

fail_threads:
    pthread_mutex_lock(&pool->lock);
    pool->quit = 1;
    pthread_cond_broadcast(&pool->work);
    pthread_mutex_unlock(&pool->lock);
    while (i > 0)
        pthread_join(pool->threads[--i], NULL);
fail:
    pool_destroy(pool);
    return rc;
}

void
hub_http_defer_pool_stop(struct hub_http_defer_pool *pool, int timeout_ms)
{
    struct timespec      deadline;
    struct hub_http_job *job, *next;
    unsigned             i, cancelled = 0;

    if (pool == NULL || pool->stopped)
        return;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    if (timeout_ms > 0) {
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&pool->lock);
    pool->stopping = 1;
    pool->quit = 1;
    pthread_cond_broadcast(&pool->work);
    /* Drain: threads leave only once the queue is empty. */
    while (pool->alive > 0 && pool->q_head != NULL && timeout_ms != 0) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&pool->progress, &pool->lock);
        } else if (pthread_cond_timedwait(&pool->progress, &pool->lock, &deadline) ==
                   ETIMEDOUT) {
            break;
        }
    }
    /* Out of time: what never started is answered 503 instead of run. */
    for (job = pool->q_head; job != NULL; job = next) {
        next = job->next;
        job->cancelled = 1;
        done_push_locked(pool, job);
        cancelled++;
    }
    pool->q_head = pool->q_tail = NULL;
    pool->queued = 0;
    pool->n_refused_stop += cancelled;
    pthread_mutex_unlock(&pool->lock);
    if (cancelled > 0)
        hub_log_warn("http", "deferred HTTP pool stopping: %u queued request(s) answered 503",
                     cancelled);

    for (i = 0; i < pool->n_threads; i++)
        pthread_join(pool->threads[i], NULL);
    close_dbs(pool);
    /* We are on the loop thread: answer everything now rather than on the next wake-up. */
    deliver_done(pool);
    pool->stopped = 1;
}

void
hub_http_defer_pool_free(struct hub_http_defer_pool *pool)
{
    if (pool == NULL)
        return;
    hub_http_defer_pool_stop(pool, -1);
    pool_destroy(pool);
}

void
hub_http_defer_pool_stats(struct hub_http_defer_pool *pool, struct hub_http_defer_stats *out)
{
    pthread_mutex_lock(&pool->lock);
    out->queued = pool->queued;
    out->running = pool->running;
    out->done = pool->n_done;
    out->refused_full = pool->n_refused_full;
    out->refused_stop = pool->n_refused_stop;
    pthread_mutex_unlock(&pool->lock);
}

int
hub_http_defer(struct hub_http_defer_pool *pool, struct hub_http_ctx *ctx, hub_http_defer_fn fn,
               void *arg)
{
    struct hub_http_job *job;
    int                  stopping, full;

    /* Only the loop thread adds jobs and sets `stopping`, so this check cannot go stale
     * before the push below. */
    pthread_mutex_lock(&pool->lock);
    stopping = pool->stopping;
    full = pool->queued >= pool->queue_max;
    if (stopping)
        pool->n_refused_stop++;
    else if (full)
        pool->n_refused_full++;
    pthread_mutex_unlock(&pool->lock);
    if (stopping) {
        hub_http_send_error(ctx->req, 503, "shutting_down",
                            "the hub is shutting down; try again shortly");
        return 0;
    }
    if (full) {
        evhttp_add_header(evhttp_request_get_output_headers(ctx->req), "Retry-After", "1");
        hub_http_send_error(ctx->req, 503, "overloaded",
                            "too many requests waiting for the database; try again shortly");
        return 0;
    }
    job = job_new(pool, ctx, fn, arg);
    if (job == NULL) {
        hub_http_send_error(ctx->req, 503, "overloaded", "out of memory; try again shortly");
        return 0;
    }
    pthread_mutex_lock(&pool->lock);
    job->next = NULL;
    if (pool->q_tail != NULL)
        pool->q_tail->next = job;
    else
        pool->q_head = job;
    pool->q_tail = job;
    pool->queued++;
    pthread_cond_signal(&pool->work);
    pthread_mutex_unlock(&pool->lock);
    return 1;
}

/* ---- job accessors ------------------------------------------------------------------------- */

struct hub_db *
hub_http_job_db(struct hub_http_job *job)
{
    return job->db;
}

int
hub_http_job_method(const struct hub_http_job *job)
{
    return job->method;
}

const char *
hub_http_job_path(const struct hub_http_job *job)
{
    return job->path;
}

const char *
hub_http_job_query(const struct hub_http_job *job)
{
    return job->query;
}

const char *
hub_http_job_peer(const struct hub_http_job *job)
{
    return job->peer;
}

const char *
hub_http_job_param(const struct hub_http_job *job, const char *name)
{
    size_t i;

    for (i = 0; i < job->n_params; i++) {
        if (strcmp(job->param_names[i], name) == 0)
            return job->param_values[i];
    }
    return NULL;
}

const char *
hub_http_job_header(const struct hub_http_job *job, const char *name)
{
    size_t i;

    for (i = 0; i < job->n_headers; i++) {
        if (strcasecmp(job->header_names[i], name) == 0)
            return job->header_values[i];
    }
    return NULL;
}

const unsigned char *
hub_http_job_body(const struct hub_http_job *job, size_t *len)
{
    *len = job->body_len;
    return job->body;
}

static void
set_reply(struct hub_http_job *job, int status, const char *content_type, char *body, size_t len)
{
    free(job->content_type);
    free(job->reply);
    job->status = status;
    job->content_type = content_type != NULL ? strdup(content_type) : NULL;
    job->reply = body;
    job->reply_len = len;
}

static void
set_error(struct hub_http_job *job, int status, const char *code, const char *message)
{
    struct hub_buf j;
    char          *data;
    size_t         len = 0;

    hub_buf_init(&j, 8192);
    hub_buf_puts(&j, "{\"error\":{\"code\":");
    hub_buf_json_str(&j, code, strlen(code));
    hub_buf_puts(&j, ",\"message\":");
    hub_buf_json_str(&j, message, strlen(message));
    hub_buf_puts(&j, "}}\n");
    data = hub_buf_steal(&j, &len);
    set_reply(job, status, "application/json", data, data != NULL ? len : 0);
}

void
hub_http_job_reply(struct hub_http_job *job, int status, const char *content_type,
                   const void *body, size_t len)
{
    char *copy = NULL;

    if (len > job->pool->reply_max) {
        hub_log_error("http", "deferred reply to %s: %zu bytes > %zu", job->path, len,
                      job->pool->reply_max);
        set_error(job, 500, "reply_too_large", "the answer is too large");
        return;
    }
    if (len > 0) {
        copy = malloc(len);
        if (copy == NULL) {
            set_error(job, 500, "internal", "out of memory");
            return;
        }
        memcpy(copy, body, len);
    }
    set_reply(job, status, content_type, copy, len);
}

void
hub_http_job_reply_error(struct hub_http_job *job, int status, const char *code,
                         const char *fmt, ...)
{
    char    msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    set_error(job, status, code, msg);
}

int
hub_http_job_add_header(struct hub_http_job *job, const char *name, const char *value)
{
    char *n, *v;

    if (name[0] == '\0' || strpbrk(name, "\r\n:") != NULL || strpbrk(value, "\r\n") != NULL)
        return HUB_E_INVALID;
    if (job->n_rheaders >= HUB_DEFER_REPLY_HEADERS_MAX)
        return HUB_E_LIMIT;
    n = strdup(name);
    v = strdup(value);
    if (n == NULL || v == NULL) {
        free(n);
        free(v);
        return HUB_E_NOMEM;
    }
    job->rheader_names[job->n_rheaders] = n;
    job->rheader_values[job->n_rheaders] = v;
    job->n_rheaders++;
    return 0;
}
