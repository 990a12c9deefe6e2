#include "queue/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

#define LOG "worker"
#define JOB_ARENA_CAP  (64u * 1024 * 1024)
#define REAP_BATCH     1000

struct worker {
    struct hub_worker_pool *pool;
    pthread_t               thread;
    int                     started;
    struct hub_db           db;
    char                    id[HUB_QUEUE_WORKER_ID_MAX];
};

struct hub_worker_pool {
    struct hub_worker_config  cfg;
    char                      queue[HUB_QUEUE_NAME_MAX];
    char                      conninfo[1024];

    struct hub_worker_handler handlers[HUB_QUEUE_KINDS_MAX];
    const char               *kinds[HUB_QUEUE_KINDS_MAX];
    size_t                    nhandlers;

    struct worker            *workers;
    int                       nworkers;

    pthread_t                 supervisor;
    int                       supervisor_started;
    struct hub_db             listener;
    int                       wake_pipe[2];

    pthread_mutex_t           mu;
    pthread_cond_t            wake;         /* workers sleep here between claims */
    pthread_cond_t            idle;         /* stop() waits here for the workers */
    uint64_t                  wake_seq;     /* bumped on every notification (under mu) */
    int                       active;       /* worker threads still in their loop (mu) */
    int                       running;      /* started and not yet stopped */
    atomic_int                stopping;     /* no new claims */
    atomic_int                sup_exit;     /* the supervisor should end */
    atomic_llong              next_reap_ms;

    struct {
        atomic_llong claimed, done, retried, dead, stale, released, reaped, wakeups;
    } n;
};

static int64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
abs_deadline(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static int
def(int v, int d)
{
    return v > 0 ? v : d;
}

int
hub_worker_pool_create(const struct hub_worker_config *cfg, struct hub_worker_pool **out,
                       struct hub_error *err)
{
    struct hub_worker_pool *p;
    pthread_condattr_t      ca;
    const char             *queue = cfg->queue != NULL ? cfg->queue : HUB_QUEUE_DEFAULT;
    int                     rc;

    *out = NULL;
    if (cfg->conninfo == NULL || strlen(cfg->conninfo) >= sizeof(p->conninfo))
        return hub_error_set(err, HUB_E_CONFIG, "worker: missing or overlong database URL");
    if (!hub_queue_name_ok(queue))
        return hub_error_set(err, HUB_E_CONFIG, "worker: bad queue name");
    if (cfg->threads > HUB_WORKER_THREADS_MAX || cfg->batch > HUB_QUEUE_CLAIM_MAX)
        return hub_error_set(err, HUB_E_CONFIG, "worker: threads <= %d, batch <= %d",
                             HUB_WORKER_THREADS_MAX, HUB_QUEUE_CLAIM_MAX);
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "worker: out of memory");
    p->cfg = *cfg;
    p->cfg.threads = def(cfg->threads, 4);
    p->cfg.batch = def(cfg->batch, 1);
    p->cfg.lease_ms = def(cfg->lease_ms, 30000);
    p->cfg.poll_ms = def(cfg->poll_ms, 1000);
    p->cfg.reap_interval_ms = def(cfg->reap_interval_ms, 5000);
    p->cfg.backoff_base_ms = def(cfg->backoff_base_ms, 1000);
    p->cfg.backoff_cap_ms = def(cfg->backoff_cap_ms, 600000);
    snprintf(p->queue, sizeof(p->queue), "%s", queue);
    snprintf(p->conninfo, sizeof(p->conninfo), "%s", cfg->conninfo);
    p->cfg.queue = p->queue;
    p->cfg.conninfo = p->conninfo;
    p->wake_pipe[0] = -1;
    p->wake_pipe[1] = -1;

    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        rc = hub_error_set(err, HUB_E_INTERNAL, "worker: mutex init failed");
        goto free_p;
    }
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_cond_init(&p->wake, &ca) != 0) {
        rc = hub_error_set(err, HUB_E_INTERNAL, "worker: cond init failed");
        goto destroy_mu;
    }
    if (pthread_cond_init(&p->idle, &ca) != 0) {
        rc = hub_error_set(err, HUB_E_INTERNAL, "worker: cond init failed");
        goto destroy_wake;
    }
    pthread_condattr_destroy(&ca);
    *out = p;
    return 0;

destroy_wake:
    pthread_condattr_destroy(&ca);
    pthread_cond_destroy(&p->wake);
destroy_mu:
    pthread_mutex_destroy(&p->mu);
free_p:
    free(p);
    return rc;
}

int
hub_worker_register_flags(struct hub_worker_pool *pool, const char *kind,
                          int (*fn)(const struct hub_job *job, struct hub_job_run *run,
                                    void *ctx, struct hub_error *err),
                          void *ctx, unsigned flags)
{
    struct hub_worker_handler *h;
    size_t                     i;

    if (pool->running || pool->workers != NULL || fn == NULL || !hub_queue_name_ok(kind))
        return HUB_E_INVALID;
    for (i = 0; i < pool->nhandlers; i++) {
        if (strcmp(pool->handlers[i].kind, kind) == 0)
            return HUB_E_INVALID;
    }
    if (pool->nhandlers >= HUB_QUEUE_KINDS_MAX)
        return HUB_E_LIMIT;
    h = &pool->handlers[pool->nhandlers];
    snprintf(h->kind, sizeof(h->kind), "%s", kind);
    h->fn = fn;
    h->ctx = ctx;
    h->flags = flags;
    pool->kinds[pool->nhandlers] = h->kind;
    pool->nhandlers++;
    return 0;
}

int
hub_worker_register(struct hub_worker_pool *pool, const char *kind,
                    int (*fn)(const struct hub_job *job, struct hub_job_run *run, void *ctx,
                              struct hub_error *err),
                    void *ctx)
{
    return hub_worker_register_flags(pool, kind, fn, ctx, 0);
}

int
hub_worker_stopping(const struct hub_job_run *run)
{
    return atomic_load(&run->pool->stopping);
}

void
hub_worker_pool_counters(struct hub_worker_pool *pool, struct hub_worker_counters *out)
{
    out->claimed = atomic_load(&pool->n.claimed);
    out->done = atomic_load(&pool->n.done);
    out->retried = atomic_load(&pool->n.retried);
    out->dead = atomic_load(&pool->n.dead);
    out->stale = atomic_load(&pool->n.stale);
    out->released = atomic_load(&pool->n.released);
    out->reaped = atomic_load(&pool->n.reaped);
    out->wakeups = atomic_load(&pool->n.wakeups);
}

const char *
hub_worker_pool_worker_id(struct hub_worker_pool *pool, int i)
{
    if (pool->workers == NULL || i < 0 || i >= pool->nworkers)
        return NULL;
    return pool->workers[i].id;
}

static const struct hub_worker_handler *
find_handler(const struct hub_worker_pool *pool, const char *kind)
{
    size_t i;

    for (i = 0; i < pool->nhandlers; i++) {
        if (strcmp(pool->handlers[i].kind, kind) == 0)
            return &pool->handlers[i];
    }
    return NULL;
}

/* Reconnect a broken worker connection; the next claim retries. */
static void
recover_db(struct worker *w)
{
    struct hub_error err;

    hub_db_rollback(&w->db);
    if (hub_db_ensure(&w->db, &err) < 0)
        hub_log_warn(LOG, "%s: reconnect failed: %s", w->id, err.msg);
}

static void
finish_failed(struct worker *w, const struct hub_job *job, struct hub_job_run *run, int code,
              const char *msg)
{
    struct hub_worker_pool *pool = w->pool;
    struct hub_error        err;
    enum hub_job_status     st;
    char                    text[HUB_QUEUE_ERROR_MAX];
    int                     permanent = hub_queue_error_is_permanent(code);
    int                     delay, rc;

    delay = run->retry_after_ms > 0 ? run->retry_after_ms
                                    : hub_queue_backoff_ms(job->attempts,
                                                           pool->cfg.backoff_base_ms,
                                                           pool->cfg.backoff_cap_ms);
    snprintf(text, sizeof(text), "%s: %s", hub_error_name(code), msg[0] ? msg : "(no message)");
    rc = hub_queue_fail(&w->db, job, text, delay, permanent, &st, &err);
    if (rc == HUB_E_STALE) {
        atomic_fetch_add(&pool->n.stale, 1);
        hub_log_warn(LOG, "job %" PRId64 " (%s) failed after its lease was lost: %s",
                     job->id, job->kind, text);
        return;
    }
    if (rc < 0) {
        /* The lease runs out and the reaper retries the job. */
        hub_log_error(LOG, "job %" PRId64 ": cannot record failure: %s", job->id, err.msg);
        recover_db(w);
        return;
    }
    if (st == HUB_JOB_DEAD) {
        atomic_fetch_add(&pool->n.dead, 1);
        hub_log_warn(LOG, "job %" PRId64 " (%s) dead after attempt %d/%d: %s", job->id,
                     job->kind, job->attempts, job->max_attempts, text);
    } else {
        atomic_fetch_add(&pool->n.retried, 1);
        hub_log_info(LOG, "job %" PRId64 " (%s) attempt %d/%d failed, retry in %d ms: %s",
                     job->id, job->kind, job->attempts, job->max_attempts, delay, text);
    }
}

static void
run_job(struct worker *w, const struct hub_job *job)
{
    struct hub_worker_pool          *pool = w->pool;
    const struct hub_worker_handler *h = find_handler(pool, job->kind);
    struct hub_arena                 arena;
    struct hub_job_run               run;
    struct hub_error                 err;
    int                              rc, tx;

    if (h == NULL) {
        /* Cannot happen: claims ask only for registered kinds. */
        memset(&run, 0, sizeof(run));
        finish_failed(w, job, &run, HUB_E_UNSUPPORTED, "no handler for this kind");
        return;
    }
    hub_arena_init(&arena, JOB_ARENA_CAP);
    memset(&run, 0, sizeof(run));
    run.db = &w->db;
    run.arena = &arena;
    run.worker_id = w->id;
    run.pool = pool;
    hub_error_clear(&err);
    tx = (h->flags & HUB_WORKER_TX) != 0;

    if (tx) {
        rc = hub_db_begin(&w->db, &err);
        if (rc < 0) {
            recover_db(w);
            goto out;       /* the lease expires; the job is reaped and retried */
        }
    }
    rc = h->fn(job, &run, h->ctx, &err);
    if (rc > 0)
        rc = hub_error_set(&err, HUB_E_INTERNAL, "handler returned %d", rc);
    if (!tx && w->db.conn != NULL && PQtransactionStatus(w->db.conn) != PQTRANS_IDLE) {
        hub_log_warn(LOG, "job %" PRId64 " (%s): handler left a transaction open; rolled back",
                     job->id, job->kind);
        hub_db_rollback(&w->db);
    }
    if (rc < 0) {
        if (tx)
            hub_db_rollback(&w->db);
        finish_failed(w, job, &run, rc, err.msg);
        goto out;
    }
    rc = hub_queue_complete(&w->db, job, run.result, &err);
    if (rc == 0 && tx)
        rc = hub_db_commit(&w->db, &err);
    if (rc == 0) {
        atomic_fetch_add(&pool->n.done, 1);
        goto out;
    }
    if (tx)
        hub_db_rollback(&w->db);
    if (rc == HUB_E_STALE) {
        atomic_fetch_add(&pool->n.stale, 1);
        hub_log_warn(LOG, "job %" PRId64 " (%s) finished after its lease was lost%s", job->id,
                     job->kind, tx ? "; its transaction was rolled back" : "");
    } else {
        hub_log_error(LOG, "job %" PRId64 ": cannot complete: %s", job->id, err.msg);
        recover_db(w);
    }
out:
    hub_arena_destroy(&arena);
}

static void
maybe_reap(struct worker *w)
{
    struct hub_worker_pool *pool = w->pool;
    struct hub_error        err;
    long long               now = mono_ms();
    long long               next = atomic_load(&pool->next_reap_ms);
    int                     n;

    if (now < next)
        return;
    /* One worker of the process wins the slot; other processes may reap too (SKIP LOCKED). */
    if (!atomic_compare_exchange_strong(&pool->next_reap_ms, &next,
                                        now + pool->cfg.reap_interval_ms))
        return;
    if (hub_queue_reap(&w->db, REAP_BATCH, &n, &err) < 0) {
        hub_log_warn(LOG, "reap: %s", err.msg);
        recover_db(w);
        return;
    }
    if (n > 0) {
        atomic_fetch_add(&pool->n.reaped, n);
        hub_log_warn(LOG, "reaped %d job(s) whose worker stopped heartbeating", n);
    }
}

/* Sleep until a notification newer than `seen`, a stop, or poll_ms. */
static void
wait_for_work(struct hub_worker_pool *pool, uint64_t seen)
{
    struct timespec deadline;
    int             rc = 0, guard;

    abs_deadline(&deadline, pool->cfg.poll_ms);
    pthread_mutex_lock(&pool->mu);
    /* Bounded against spurious wake-ups; each wait is bounded by the deadline. */
    for (guard = 0; guard < 1000 && rc != ETIMEDOUT; guard++) {
        if (pool->wake_seq != seen || atomic_load(&pool->stopping))
            break;
        rc = pthread_cond_timedwait(&pool->wake, &pool->mu, &deadline);
    }
    pthread_mutex_unlock(&pool->mu);
}

static void *
worker_main(void *arg)
{
    struct worker          *w = arg;
    struct hub_worker_pool *pool = w->pool;
    struct hub_job         *jobs;
    struct hub_claim_req    req;
    struct hub_error        err;
    struct hub_arena        arena;
    size_t                  i, n;
    uint64_t                seen;

    jobs = calloc((size_t)pool->cfg.batch, sizeof(*jobs));
    memset(&req, 0, sizeof(req));
    req.queue = pool->queue;
    req.kinds = pool->kinds;
    req.nkinds = pool->nhandlers;
    req.worker_id = w->id;
    req.lease_ms = pool->cfg.lease_ms;

    while (jobs != NULL && !atomic_load(&pool->stopping)) {
        maybe_reap(w);
        pthread_mutex_lock(&pool->mu);
        seen = pool->wake_seq;
        pthread_mutex_unlock(&pool->mu);

        hub_arena_init(&arena, JOB_ARENA_CAP);
        if (hub_queue_claim(&w->db, &req, &arena, jobs, (size_t)pool->cfg.batch, &n,
                            &err) < 0) {
            hub_log_warn(LOG, "%s: claim: %s", w->id, err.msg);
            hub_arena_destroy(&arena);
            recover_db(w);
            wait_for_work(pool, seen);
            continue;
        }
        if (n == 0) {
            hub_arena_destroy(&arena);
            wait_for_work(pool, seen);
            continue;
        }
        atomic_fetch_add(&pool->n.claimed, (long long)n);
        for (i = 0; i < n; i++) {
            if (atomic_load(&pool->stopping)) {
                /* Claimed but not started: give it back for another process at once. */
                if (hub_queue_release(&w->db, &jobs[i], &err) == 0)
                    atomic_fetch_add(&pool->n.released, 1);
                continue;
            }
            run_job(w, &jobs[i]);
        }
        hub_arena_destroy(&arena);
    }
    if (jobs == NULL)
        hub_log_error(LOG, "%s: out of memory; worker ends", w->id);
    free(jobs);

    pthread_mutex_lock(&pool->mu);
    pool->active--;
    pthread_cond_broadcast(&pool->idle);
    pthread_mutex_unlock(&pool->mu);
    return NULL;
}

static void
heartbeat(struct hub_worker_pool *pool)
{
    struct hub_error err;
    int              i, n;

    for (i = 0; i < pool->nworkers; i++) {
        if (hub_queue_extend_worker(&pool->listener, pool->workers[i].id, pool->cfg.lease_ms,
                                    &n, &err) < 0) {
            hub_log_warn(LOG, "heartbeat: %s", err.msg);
            return;
        }
    }
}

static int
listener_connect(struct hub_worker_pool *pool, struct hub_error *err)
{
    int rc;

    hub_db_close(&pool->listener);
    rc = hub_db_connect(&pool->listener, pool->conninfo, err);
    if (rc < 0)
        return rc;
    rc = hub_queue_listen(&pool->listener, err);
    if (rc < 0)
        hub_db_close(&pool->listener);
    return rc;
}

static void
wake_workers(struct hub_worker_pool *pool)
{
    pthread_mutex_lock(&pool->mu);
    pool->wake_seq++;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mu);
}

static void *
supervisor_main(void *arg)
{
    struct hub_worker_pool *pool = arg;
    struct hub_error        err;
    int64_t                 now, next_beat;
    int                     every = pool->cfg.lease_ms / 3 > 0 ? pool->cfg.lease_ms / 3 : 1;
    int                     n, timeout;
    char                    drain[64];

    next_beat = mono_ms() + every;
    while (!atomic_load(&pool->sup_exit)) {
        now = mono_ms();
        timeout = pool->cfg.poll_ms;
        if (next_beat - now < timeout)
            timeout = next_beat - now > 0 ? (int)(next_beat - now) : 0;
        if (pool->listener.conn == NULL) {
            /* Lost the listener: workers still poll every poll_ms; retry every 200 ms. */
            if (listener_connect(pool, &err) == 0) {
                hub_log_info(LOG, "listener reconnected");
                wake_workers(pool);     /* notifications may have been missed */
            } else {
                struct timespec ts = { 0, 200 * 1000000L };

                nanosleep(&ts, NULL);
            }
            continue;
        }
        n = hub_queue_wait(&pool->listener, pool->queue, timeout, pool->wake_pipe[0], &err);
        while (read(pool->wake_pipe[0], drain, sizeof(drain)) > 0)
            ;
        if (n > 0) {
            atomic_fetch_add(&pool->n.wakeups, n);
            wake_workers(pool);
        } else if (n < 0) {
            hub_log_warn(LOG, "listener: %s", err.msg);
            hub_db_close(&pool->listener);
            continue;
        }
        if (mono_ms() >= next_beat) {
            heartbeat(pool);
            next_beat = mono_ms() + every;
        }
    }
    return NULL;
}

static void
poke_supervisor(struct hub_worker_pool *pool)
{
    ssize_t r = write(pool->wake_pipe[1], "x", 1);

    (void)r;    /* a full pipe already wakes it */
}

/* Undo a partial start: stop what runs, close what is open. */
static void
teardown(struct hub_worker_pool *pool)
{
    int i;

    atomic_store(&pool->stopping, 1);
    atomic_store(&pool->sup_exit, 1);
    pthread_mutex_lock(&pool->mu);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mu);
    if (pool->wake_pipe[1] >= 0)
        poke_supervisor(pool);
    if (pool->supervisor_started)
        pthread_join(pool->supervisor, NULL);
    pool->supervisor_started = 0;
    for (i = 0; pool->workers != NULL && i < pool->nworkers; i++) {
        if (pool->workers[i].started)
            pthread_join(pool->workers[i].thread, NULL);
        pool->workers[i].started = 0;
        hub_db_close(&pool->workers[i].db);
    }
    hub_db_close(&pool->listener);
    for (i = 0; i < 2; i++) {
        if (pool->wake_pipe[i] >= 0)
            close(pool->wake_pipe[i]);
        pool->wake_pipe[i] = -1;
    }
    free(pool->workers);
    pool->workers = NULL;
    pool->nworkers = 0;
    pool->running = 0;
}

int
hub_worker_pool_start(struct hub_worker_pool *pool, struct hub_error *err)
{
    int rc, i;

    if (pool->running || pool->workers != NULL)
        return hub_error_set(err, HUB_E_INVALID, "worker: pool already started");
    if (pool->nhandlers == 0)
        return hub_error_set(err, HUB_E_INVALID, "worker: no handler registered");
    atomic_store(&pool->stopping, 0);
    atomic_store(&pool->sup_exit, 0);
    atomic_store(&pool->next_reap_ms, 0);   /* reap leftovers of crashed predecessors first */
    if (pipe2(pool->wake_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
        return hub_error_set(err, HUB_E_IO, "worker: pipe: %s", strerror(errno));
    pool->workers = calloc((size_t)pool->cfg.threads, sizeof(*pool->workers));
    if (pool->workers == NULL) {
        rc = hub_error_set(err, HUB_E_NOMEM, "worker: out of memory");
        goto fail;
    }
    pool->nworkers = pool->cfg.threads;

    /* Connect everything first, so a bad URL fails here and not in a thread. */
    rc = listener_connect(pool, err);
    if (rc < 0)
        goto fail;
    for (i = 0; i < pool->nworkers; i++) {
        struct worker *w = &pool->workers[i];

        w->pool = pool;
        rc = hub_queue_worker_id(w->id, sizeof(w->id));
        if (rc < 0) {
            hub_error_set(err, rc, "worker: id too long");
            goto fail;
        }
        rc = hub_db_connect(&w->db, pool->conninfo, err);
        if (rc < 0)
            goto fail;
    }

    pool->running = 1;
    for (i = 0; i < pool->nworkers; i++) {
        pthread_mutex_lock(&pool->mu);
        pool->active++;
        pthread_mutex_unlock(&pool->mu);
        if (pthread_create(&pool->workers[i].thread, NULL, worker_main, &pool->workers[i]) != 0) {
            pthread_mutex_lock(&pool->mu);
            pool->active--;
            pthread_mutex_unlock(&pool->mu);
            rc = hub_error_set(err, HUB_E_INTERNAL, "worker: cannot start thread");
            goto fail;
        }
        pool->workers[i].started = 1;
    }
    if (pthread_create(&pool->supervisor, NULL, supervisor_main, pool) != 0) {
        rc = hub_error_set(err, HUB_E_INTERNAL, "worker: cannot start thread");
        goto fail;
    }
    pool->supervisor_started = 1;
    hub_log_info(LOG, "pool on queue %s: %d worker(s) %s..%s, lease %d ms, poll %d ms",
                 pool->queue, pool->nworkers, pool->workers[0].id,
                 pool->workers[pool->nworkers - 1].id, pool->cfg.lease_ms, pool->cfg.poll_ms);
    return 0;

fail:
    teardown(pool);
    return rc;
}

int
hub_worker_pool_stop(struct hub_worker_pool *pool, int drain_timeout_ms, int *out_released)
{
    struct timespec  deadline;
    struct hub_error err;
    int              i, n, total = 0, rc = 0, guard;

    if (out_released != NULL)
        *out_released = 0;
    if (!pool->running)
        return 0;
    atomic_store(&pool->stopping, 1);
    abs_deadline(&deadline, drain_timeout_ms > 0 ? drain_timeout_ms : 0);
    pthread_mutex_lock(&pool->mu);
    pthread_cond_broadcast(&pool->wake);
    for (guard = 0; guard < 100000 && pool->active > 0; guard++) {
        if (pthread_cond_timedwait(&pool->idle, &pool->mu, &deadline) == ETIMEDOUT)
            break;
    }
    n = pool->active;
    pthread_mutex_unlock(&pool->mu);

    /* The supervisor heartbeated the in-flight leases during the drain; now it ends and its
     * connection is ours. */
    atomic_store(&pool->sup_exit, 1);
    poke_supervisor(pool);
    if (pool->supervisor_started)
        pthread_join(pool->supervisor, NULL);
    pool->supervisor_started = 0;

    if (n > 0) {
        if (hub_db_ensure(&pool->listener, &err) < 0) {
            hub_log_error(LOG, "stop: cannot release jobs (their leases will expire): %s",
                          err.msg);
            rc = HUB_E_DB;
        }
        for (i = 0; rc == 0 && i < pool->nworkers; i++) {
            if (hub_queue_release_worker(&pool->listener, pool->workers[i].id, &n, &err) < 0) {
                hub_log_error(LOG, "stop: release %s: %s", pool->workers[i].id, err.msg);
                rc = HUB_E_DB;
                break;
            }
            total += n;
        }
        atomic_fetch_add(&pool->n.released, total);
        hub_log_warn(LOG, "stop: drain timeout (%d ms); released %d running job(s)",
                     drain_timeout_ms, total);
    }
    hub_db_close(&pool->listener);
    pool->running = 0;
    if (out_released != NULL)
        *out_released = total;
    return rc;
}

void
hub_worker_pool_free(struct hub_worker_pool *pool)
{
    if (pool == NULL)
        return;
    hub_worker_pool_stop(pool, 0, NULL);
    teardown(pool);
    pthread_cond_destroy(&pool->idle);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->mu);
    free(pool);
}
