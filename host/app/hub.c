#include "app/hub.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/metrics.h"
#include "db/db.h"
#include "http/server.h"
#include "queue/queue.h"
#include "queue/worker.h"
#include "sync/engine.h"
#include "http/defer.h"
#include "marketplace/install.h"
#include "oauth/oauth.h"
#include "webhook/webhook.h"
#include "api/api.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HEALTH_INTERVAL_MS  2000
#define SCHEDULE_EVERY      2       /* scheduler pass every N health checks */
#define DRAIN_TIMEOUT_MS    10000

static int64_t
wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- health monitor ------------------------------------------------------------------------- */

static void
health_check_once(struct hub *hub, struct hub_db *db)
{
    struct hub_queue_stats st;
    struct hub_error       err;

    if (hub_db_ensure(db, &err) == 0 && hub_db_exec(db, "SELECT 1", &err) == 0) {
        atomic_store(&hub->db_ok, 1);
        if (hub_queue_stats(db, NULL, &st, &err) == 0) {
            atomic_store(&hub->queue_depth, st.queued);
            atomic_store(&hub->queue_oldest_s, st.oldest_queued_ms / 1000);
        }
        /* The webhook backlog, whichever hub stored or processes it: it must be visible
         * most when no processing runs at all. */
        {
            int64_t pending, oldest_s;

            if (hub_webhook_backlog(db, &pending, &oldest_s, &err) == 0) {
                atomic_store(&hub->wh_pending, pending);
                atomic_store(&hub->wh_oldest_s, oldest_s);
            }
        }
    } else {
        if (atomic_exchange(&hub->db_ok, 0) == 1)
            hub_log_error("health", "database check failed: %s", err.msg);
        pthread_mutex_lock(&hub->health_lock);
        snprintf(hub->db_error, sizeof(hub->db_error), "%s", err.msg);
        pthread_mutex_unlock(&hub->health_lock);
    }
    atomic_store(&hub->db_checked_ms, wall_ms());
}

static void *
health_main(void *arg)
{
    struct hub      *hub = arg;
    struct hub_db    db;
    struct hub_error err;
    int              slept, tick = 0, n;

    memset(&db, 0, sizeof(db));
    if (hub_db_connect(&db, hub->cfg.database_url, &err) < 0)
        snprintf(db.conninfo, sizeof(db.conninfo), "%s", hub->cfg.database_url);
    while (!atomic_load(&hub->health_stop)) {
        health_check_once(hub, &db);
        /* The scheduler: due incremental runs and pending exports become jobs. Every hub
         * runs it; the queue's dedupe keys make it harmless. */
        if (hub->workers != NULL && ++tick % SCHEDULE_EVERY == 0 && atomic_load(&hub->db_ok)) {
            if (hub_sync_schedule(&db, &n, &err) < 0)
                hub_log_warn("sync", "scheduler pass failed: %s", err.msg);
            else if (n > 0)
                hub_log_debug("sync", "scheduler enqueued %d job(s)", n);
        }
        /* Connector packages installed, upgraded, rolled back or removed by any hub. */
        if (atomic_load(&hub->db_ok)) {
            struct hub_market_cfg mc = { hub->cfg.marketplace_dir, hub->cfg.marketplace_trust,
                                         hub->cfg.plugin_dir, "hub" };

            if (hub_market_reconcile(&db, &mc, &hub->plugins, &hub->market_stamp, &err) < 0)
                hub_log_warn("marketplace", "reconcile failed: %s", err.msg);
        }
        /* Finished jobs older than job_retention_h: at start, then about every minute, in
         * slices (every hub may run it; SKIP LOCKED keeps them apart). */
        if (hub->workers != NULL && hub->cfg.job_retention_h > 0 && tick % 30 == 1 &&
            atomic_load(&hub->db_ok)) {
            int64_t total = 0;
            int     purged = 0, round;

            for (round = 0; round < 20; round++) {
                if (hub_queue_purge(&db, (int64_t)hub->cfg.job_retention_h * 3600 * 1000, 5000,
                                    &purged, &err) < 0) {
                    hub_log_warn("queue", "purging finished jobs failed: %s", err.msg);
                    break;
                }
                total += purged;
                if (purged < 5000)
                    break;
            }
            if (total > 0)
                hub_log_info("queue", "purged %lld finished job(s) older than %d h",
                             (long long)total, hub->cfg.job_retention_h);
        }
        /* OAuth states older than a day are of no use to anyone: about every 10 minutes. */
        if (hub->workers != NULL && tick % 300 == 150 && atomic_load(&hub->db_ok)) {
            int64_t purged = 0;

            if (hub_oauth_purge_states(&db, -1, &purged, &err) < 0)
                hub_log_warn("oauth", "purging expired states failed: %s", err.msg);
        }
        for (slept = 0; slept < HEALTH_INTERVAL_MS && !atomic_load(&hub->health_stop);
             slept += 100)
            usleep(100 * 1000);
    }
    hub_db_close(&db);
    return NULL;
}

/* ---- HTTP handlers ---------------------------------------------------------------------------- */

struct plugin_list_arg {
    struct hub_buf *b;
    int             n;
};

static void
plugin_ids_json(const struct hub_plugin *p, void *arg)
{
    struct plugin_list_arg *a = arg;

    hub_buf_printf(a->b, "%s{\"id\":\"%s\",\"version\":", a->n++ ? "," : "", p->id);
    hub_buf_json_str(a->b, p->desc.version, strlen(p->desc.version));
    hub_buf_puts(a->b, "}");
}

static int
h_healthz(struct hub_http_ctx *ctx, void *arg)
{
    struct hub            *hub = arg;
    struct hub_buf         b;
    struct plugin_list_arg pl;
    int                    ok = atomic_load(&hub->db_ok);
    int64_t                checked = atomic_load(&hub->db_checked_ms);

    hub_buf_init(&b, 1 << 20);
    hub_buf_printf(&b, "{\"status\":\"%s\",\"version\":\"%s\",\"pid\":%ld,\"uptime_s\":%lld,"
                   "\"database\":{\"ok\":%s,\"checked_ms_ago\":%lld",
                   ok ? "ok" : "degraded", SX_HUB_VERSION, (long)getpid(),
                   (long long)((wall_ms() - hub->started_ms) / 1000), ok ? "true" : "false",
                   checked ? (long long)(wall_ms() - checked) : -1LL);
    if (!ok) {
        pthread_mutex_lock(&hub->health_lock);
        hub_buf_puts(&b, ",\"error\":");
        hub_buf_json_str(&b, hub->db_error, strlen(hub->db_error));
        pthread_mutex_unlock(&hub->health_lock);
    }
    hub_buf_printf(&b, "},\"queue\":{\"queued\":%lld,\"oldest_queued_s\":%lld},"
                   "\"webhooks\":{\"pending\":%lld,\"oldest_pending_s\":%lld},"
                   "\"workers\":%d,\"plugins\":[",
                   atomic_load(&hub->queue_depth), atomic_load(&hub->queue_oldest_s),
                   atomic_load(&hub->wh_pending), atomic_load(&hub->wh_oldest_s),
                   hub->cfg.workers);
    pl.b = &b;
    pl.n = 0;
    hub_plugins_foreach(&hub->plugins, plugin_ids_json, &pl);
    hub_buf_puts(&b, "]}\n");
    hub_http_reply_json(ctx, ok ? 200 : 503, &b);
    hub_buf_free(&b);
    return 0;
}

static int
h_metrics(struct hub_http_ctx *ctx, void *arg)
{
    struct hub            *hub = arg;
    struct hub_buf         b;
    struct hub_worker_counters wc;

    hub_metric_set(hub_metric_get(HUB_METRIC_GAUGE, "simplix_up", "",
                                  "1 while the hub process serves"), 1);
    hub_metric_set(hub_metric_get(HUB_METRIC_GAUGE, "simplix_database_up", "",
                                  "1 when the last database check succeeded"),
                   atomic_load(&hub->db_ok));
    hub_metric_set(hub_metric_get(HUB_METRIC_GAUGE, "simplix_queue_depth", "",
                                  "Jobs queued in the shared queue"),
                   atomic_load(&hub->queue_depth));
    hub_metric_set(hub_metric_get(HUB_METRIC_GAUGE, "simplix_queue_oldest_seconds", "",
                                  "Age of the oldest queued job"),
                   atomic_load(&hub->queue_oldest_s));
    hub_metric_set(hub_metric_get(HUB_METRIC_GAUGE, "simplix_webhook_pending_events", "",
                                  "Webhook events waiting to be processed (all hubs)"),
                   atomic_load(&hub->wh_pending));
    hub_metric_set(hub_metric_get(HUB_METRIC_GAUGE, "simplix_webhook_oldest_pending_seconds",
                                  "", "Age of the oldest webhook event waiting to be processed"),
                   atomic_load(&hub->wh_oldest_s));
    hub_metric_set(hub_metric_get(HUB_METRIC_GAUGE, "simplix_plugins_loaded", "",
                                  "Connector plugins loaded"), (long long)hub->plugins.n);
    if (hub->workers != NULL) {
        hub_worker_pool_counters(hub->workers, &wc);
        hub_metric_set(hub_metric_get(HUB_METRIC_COUNTER, "simplix_jobs_total",
                                      "outcome=\"done\"", "Jobs run by this hub, by outcome"),
                       wc.done);
        hub_metric_set(hub_metric_get(HUB_METRIC_COUNTER, "simplix_jobs_total",
                                      "outcome=\"retried\"", NULL), wc.retried);
        hub_metric_set(hub_metric_get(HUB_METRIC_COUNTER, "simplix_jobs_total",
                                      "outcome=\"dead\"", NULL), wc.dead);
        hub_metric_set(hub_metric_get(HUB_METRIC_COUNTER, "simplix_jobs_total",
                                      "outcome=\"released\"", NULL), wc.released);
        hub_metric_set(hub_metric_get(HUB_METRIC_COUNTER, "simplix_jobs_total",
                                      "outcome=\"stale\"", NULL), wc.stale);
        hub_metric_set(hub_metric_get(HUB_METRIC_COUNTER, "simplix_jobs_claimed_total", "",
                                      "Jobs claimed by this hub's workers"), wc.claimed);
        hub_metric_set(hub_metric_get(HUB_METRIC_COUNTER, "simplix_jobs_reaped_total", "",
                                      "Expired leases (of any hub) this hub put back"),
                       wc.reaped);
        hub_metric_set(hub_metric_get(HUB_METRIC_COUNTER, "simplix_queue_wakeups_total", "",
                                      "Queue notifications received"), wc.wakeups);
    }
    hub_buf_init(&b, 4 << 20);
    if (hub_metrics_render(&b) < 0) {
        hub_buf_free(&b);
        hub_http_reply_error(ctx, 500, "internal", "metrics too large to render");
        return 0;
    }
    hub_http_reply(ctx, 200, "text/plain; version=0.0.4", b.data != NULL ? b.data : "", b.len);
    hub_buf_free(&b);
    return 0;
}

/* ---- built-in jobs ---------------------------------------------------------------------------- */

/* hub.selftest: records that this worker ran this job (operations check, two-hub test). */
static int
job_selftest(const struct hub_job *job, struct hub_job_run *run, void *ctx, struct hub_error *err)
{
    char        id[32];
    const char *params[2];

    (void)ctx;
    snprintf(id, sizeof(id), "%lld", (long long)job->id);
    params[0] = id;
    params[1] = run->worker_id;
    return hub_db_query(run->db, "INSERT INTO hub_selftest_runs (job_id, worker_id) "
                        "VALUES ($1, $2)", 2, params, NULL, err);
}

/* ---- lifecycle ---------------------------------------------------------------------------------- */

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct hub *hub = arg;
    int         released = 0;

    (void)what;
    if (atomic_exchange(&hub->stopping, 1))
        return;
    hub_log_info("hub", "received %s: stopping (no new connections, draining jobs)",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT");
    hub_http_server_stop_accepting(hub->http);
    if (hub->defer != NULL)
        hub_http_defer_pool_stop(hub->defer, 5000);
    if (hub->webhook != NULL)
        hub_webhook_stop(hub->webhook, 5000);   /* what was accepted is stored and answered */
    if (hub->workers != NULL) {
        hub_worker_pool_stop(hub->workers, DRAIN_TIMEOUT_MS, &released);
        if (released > 0)
            hub_log_warn("hub", "released %d unfinished job(s) back to the queue", released);
    }
    /* Give in-flight HTTP answers a moment to flush, then leave the loop. */
    {
        struct timeval tv = { 0, 200 * 1000 };

        event_base_loopexit(hub->base, &tv);
    }
}

static int
write_ready_file(struct hub *hub, struct hub_error *err)
{
    char  tmp[HUB_CFG_STR + 16];
    FILE *f;

    if (hub->cfg.ready_file[0] == '\0')
        return 0;
    snprintf(tmp, sizeof(tmp), "%s.tmp", hub->cfg.ready_file);
    f = fopen(tmp, "w");
    if (f == NULL)
        return hub_error_set(err, HUB_E_IO, "cannot write ready file %s: %s", tmp,
                             strerror(errno));
    fprintf(f, "{\"url\":\"%s\",\"public_url\":\"%s\",\"pid\":%ld}\n", hub->url,
            hub->cfg.public_url, (long)getpid());
    if (fclose(f) != 0 || rename(tmp, hub->cfg.ready_file) != 0)
        return hub_error_set(err, HUB_E_IO, "cannot write ready file %s: %s",
                             hub->cfg.ready_file, strerror(errno));
    return 0;
}

static int
check_schema(const struct hub_config *cfg, struct hub_error *err)
{
    struct hub_db db;
    PGresult     *res = NULL;
    int           rc;

    rc = hub_db_connect(&db, cfg->database_url, err);
    if (rc < 0)
        return rc;
    rc = hub_db_query(&db, "SELECT to_regclass('public.hub_selftest_runs') IS NOT NULL AND "
                      "to_regclass('public.jobs') IS NOT NULL", 0, NULL, &res, err);
    if (rc == 0 && strcmp(PQgetvalue(res, 0, 0), "t") != 0)
        rc = hub_error_set(err, HUB_E_CONFIG, "the database is not migrated: run `simplix-hub "
                           "migrate` first");
    PQclear(res);
    hub_db_close(&db);
    return rc;
}

int
hub_run(struct hub *hub, struct hub_error *err)
{
    struct hub_http_limits   limits;
    struct hub_worker_config wcfg;
    size_t                   loaded = 0, refused = 0;
    int                      rc;

    hub->started_ms = wall_ms();
    pthread_mutex_init(&hub->health_lock, NULL);
    hub_plugins_init(&hub->plugins);

    if (hub->cfg.database_url[0] == '\0') {
        rc = hub_error_set(err, HUB_E_CONFIG, "no database: set DATABASE_URL or database_url");
        goto out;
    }
    rc = hub_crypto_keyring_load(&hub->keys, hub->cfg.master_key_file[0] ?
                                 hub->cfg.master_key_file : NULL, err);
    if (rc < 0) {
        hub_error_prefix(err, "no master key (create one with `simplix-hub keygen FILE` and set "
                         "SX_MASTER_KEY_FILE)");
        goto out;
    }
    rc = check_schema(&hub->cfg, err);
    if (rc < 0)
        goto out;

    rc = hub_plugins_load_dir(&hub->plugins, hub->cfg.plugin_dir, &loaded, &refused, err);
    if (rc < 0)
        hub_log_warn("hub", "%s; serving without plugins", err->msg);
    hub_log_info("hub", "plugins: %zu loaded, %zu refused, from %s", loaded, refused,
                 hub->cfg.plugin_dir);
    {
        /* The marketplace's active versions before any work starts. */
        struct hub_market_cfg mc = { hub->cfg.marketplace_dir, hub->cfg.marketplace_trust,
                                     hub->cfg.plugin_dir, "hub" };
        struct hub_db         mdb;
        struct hub_error      merr;

        memset(&mdb, 0, sizeof(mdb));
        if (hub_db_connect(&mdb, hub->cfg.database_url, &merr) < 0 ||
            hub_market_reconcile(&mdb, &mc, &hub->plugins, &hub->market_stamp, &merr) < 0)
            hub_log_warn("marketplace", "reconcile at start failed: %s", merr.msg);
        hub_db_close(&mdb);
    }

    hub->base = event_base_new();
    if (hub->base == NULL) {
        rc = hub_error_set(err, HUB_E_NOMEM, "cannot create the event loop");
        goto out;
    }
    memset(&limits, 0, sizeof(limits));
    limits.max_body_bytes = hub->cfg.max_body_bytes;
    limits.max_headers = hub->cfg.max_headers;
    hub->http = hub_http_server_new(hub->base, &limits, err);
    if (hub->http == NULL) {
        rc = HUB_E_NOMEM;
        goto out;
    }
    hub_http_route(hub->http, HUB_M_GET | HUB_M_HEAD, "/healthz", h_healthz, hub);
    hub_http_route(hub->http, HUB_M_GET, "/metrics", h_metrics, hub);
    rc = hub_http_server_listen(hub->http, hub->cfg.listen_host, hub->cfg.listen_port,
                                &hub->port, err);
    if (rc < 0)
        goto out;
    snprintf(hub->url, sizeof(hub->url), "http://%.255s:%d", hub->cfg.listen_host, hub->port);
    if (hub->cfg.public_url[0] == '\0')
        snprintf(hub->cfg.public_url, sizeof(hub->cfg.public_url), "%s", hub->url);

    /* The sync runtime and the webhook receiver serve on every hub; workers (the job queue)
     * only where workers > 0, and only once the port is ours: a hub that cannot serve takes no
     * jobs. A hub with 0 workers receives webhooks and answers the API and OAuth callbacks;
     * the hubs with workers process what it stores. */
    {
        struct hub_sync_opts    sopts;
        struct hub_webhook_opts wo;

        memset(&sopts, 0, sizeof(sopts));
        sopts.conninfo = hub->cfg.database_url;
        sopts.plugins = &hub->plugins;
        sopts.keys = &hub->keys;
        sopts.public_url = hub->cfg.public_url[0] ? hub->cfg.public_url : NULL;
        rc = hub_sync_new(&sopts, &hub->sync, err);
        if (rc == 0 && hub->cfg.workers > 0) {
            memset(&wcfg, 0, sizeof(wcfg));
            wcfg.conninfo = hub->cfg.database_url;
            wcfg.threads = hub->cfg.workers;
            wcfg.lease_ms = hub->cfg.job_lease_ms;
            wcfg.reap_interval_ms = hub->cfg.job_lease_ms / 3 > 5000 ? 5000 :
                                    hub->cfg.job_lease_ms / 3;
            rc = hub_worker_pool_create(&wcfg, &hub->workers, err);
            if (rc == 0)
                rc = hub_worker_register_flags(hub->workers, HUB_JOB_SELFTEST, job_selftest,
                                               hub, HUB_WORKER_TX);
            if (rc == 0)
                rc = hub_sync_register(hub->sync, hub->workers, err);
        }
        if (rc == 0) {
            /* Webhooks: verified on the loop, stored by a group-committing writer before the
             * 200, processed by "webhook.process" jobs (this hub's pool, or another hub's). */
            memset(&wo, 0, sizeof(wo));
            wo.base = hub->base;
            wo.http = hub->http;
            wo.conninfo = hub->cfg.database_url;
            wo.plugins = &hub->plugins;
            wo.keys = &hub->keys;
            wo.sync = hub->sync;
            wo.public_url = hub->cfg.public_url[0] ? hub->cfg.public_url : hub->url;
            wo.max_body = hub->cfg.max_body_bytes;
            wo.yield_lag_ms = hub->cfg.webhook_yield_lag_ms;
            rc = hub_webhook_start(&wo, &hub->webhook, err);
            if (rc == 0 && hub->workers != NULL)
                rc = hub_webhook_register_jobs(hub->webhook, hub->workers, err);
        }
        if (rc == 0 && hub->workers != NULL)
            rc = hub_worker_pool_start(hub->workers, err);
        if (rc < 0)
            goto out;
    }

    /* OAuth callbacks: answered from a small pool of threads with their own connections. */
    if (hub->sync != NULL) {
        struct hub_http_defer_opts dopts;

        memset(&dopts, 0, sizeof(dopts));
        dopts.conninfo = hub->cfg.database_url;
        dopts.threads = 2;
        dopts.queue_max = 256;
        rc = hub_http_defer_pool_new(hub->base, &dopts, &hub->defer, err);
        if (rc < 0)
            goto out;
        hub->oauth = calloc(1, sizeof(*hub->oauth));
        if (hub->oauth == NULL) {
            rc = hub_error_set(err, HUB_E_NOMEM, "out of memory");
            goto out;
        }
        hub->oauth->rt = hub_sync_runtime(hub->sync);
        hub->oauth->plugins = &hub->plugins;
        hub->oauth->keys = &hub->keys;
        hub->oauth->defer = hub->defer;
        hub_oauth_register_routes(hub->http, hub->oauth);

        /* The admin API (docs/API.md): every database access on the deferred pool. */
        hub->api = calloc(1, sizeof(*hub->api));
        if (hub->api == NULL) {
            rc = hub_error_set(err, HUB_E_NOMEM, "out of memory");
            goto out;
        }
        hub->api->defer = hub->defer;
        hub->api->plugins = &hub->plugins;
        hub->api->marketplace_dir = hub->cfg.marketplace_dir;
        hub->api->marketplace_trust = hub->cfg.marketplace_trust;
        hub->api->plugin_dir = hub->cfg.plugin_dir;
        hub->api->sync = hub->sync;
        hub->api->keys = &hub->keys;
        hub->api->public_url = hub->cfg.public_url;
        rc = hub_api_register(hub->http, hub->api);
        if (rc < 0) {
            rc = hub_error_set(err, rc, "admin API routes: the router is full");
            goto out;
        }
    }

    atomic_store(&hub->db_ok, 1);
    if (pthread_create(&hub->health_thread, NULL, health_main, hub) == 0)
        hub->health_started = 1;

    hub->sig_term = evsignal_new(hub->base, SIGTERM, on_signal, hub);
    hub->sig_int = evsignal_new(hub->base, SIGINT, on_signal, hub);
    event_add(hub->sig_term, NULL);
    event_add(hub->sig_int, NULL);
    signal(SIGPIPE, SIG_IGN);

    rc = write_ready_file(hub, err);
    if (rc < 0)
        goto out;
    hub_log_info("hub", "listening on %s (public URL %s), %d worker(s), key %s", hub->url,
                 hub->cfg.public_url, hub->cfg.workers, hub_crypto_keyring_active_id(&hub->keys));

    event_base_dispatch(hub->base);
    hub_log_info("hub", "stopped");
    rc = 0;
out:
    if (hub->health_started) {
        atomic_store(&hub->health_stop, 1);
        pthread_join(hub->health_thread, NULL);
    }
    if (hub->workers != NULL)
        hub_worker_pool_free(hub->workers);
    if (hub->webhook != NULL) {
        hub_webhook_stop(hub->webhook, 0);
        hub_webhook_free(hub->webhook);
    }
    hub_sync_free(hub->sync);
    if (hub->sig_term != NULL)
        event_free(hub->sig_term);
    if (hub->sig_int != NULL)
        event_free(hub->sig_int);
    if (hub->defer != NULL) {
        hub_http_defer_pool_stop(hub->defer, 0);
        hub_http_defer_pool_free(hub->defer);
    }
    free(hub->oauth);
    free(hub->api);
    if (hub->http != NULL)
        hub_http_server_free(hub->http);
    if (hub->base != NULL)
        event_base_free(hub->base);
    hub_plugins_destroy(&hub->plugins);
    hub_crypto_keyring_wipe(&hub->keys);
    pthread_mutex_destroy(&hub->health_lock);
    if (hub->cfg.ready_file[0] != '\0')
        unlink(hub->cfg.ready_file);
    return rc < 0 ? 1 : 0;
}
