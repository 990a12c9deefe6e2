/*
 * The running hub: configuration, event loop, HTTP front, plugin registry, master keyring,
 * worker pool and the health monitor, with their start and graceful stop.
 *
 * Lifecycle (hub_run): load keys -> check the database schema -> load plugins -> start the
 * worker pool -> bind the HTTP listener -> write the ready file -> event loop. SIGTERM/SIGINT:
 * stop accepting -> drain the workers (in-flight jobs finish or are released to the queue
 * for another hub) -> close connections -> exit 0.
 */
#ifndef HUB_APP_HUB_H
#define HUB_APP_HUB_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/config.h"
#include "core/error.h"
#include "crypto/crypto.h"
#include "plugin/loader.h"

struct hub_http_server;
struct hub_worker_pool;
struct hub_sync;
struct hub_http_defer_pool;
struct hub_oauth_ctx;
struct hub_webhook;
struct hub_api_ctx;
struct event_base;
struct event;

struct hub {
    struct hub_config          cfg;
    struct event_base         *base;
    struct hub_http_server    *http;
    struct hub_plugins         plugins;
    struct hub_crypto_keyring  keys;
    struct hub_worker_pool    *workers;
    struct hub_sync           *sync;
    struct hub_http_defer_pool *defer;     /* DB work of HTTP handlers, off the loop */
    struct hub_oauth_ctx      *oauth;
    struct hub_webhook        *webhook;   /* POST /api/webhooks/{platform}/{integration_id} */
    struct hub_api_ctx        *api;       /* /api/v1 admin API */
    struct event              *sig_term;
    struct event              *sig_int;
    int                        port;            /* bound port */
    char                       url[300];        /* http://host:port */
    int64_t                    started_ms;

    /* health monitor: its own connection, checks the database every 2 s */
    pthread_t                  health_thread;
    int                        health_started;
    atomic_int                 health_stop;
    atomic_int                 db_ok;
    atomic_llong               db_checked_ms;
    atomic_llong               queue_depth;
    atomic_llong               queue_oldest_s;
    atomic_llong               wh_pending;      /* webhook events PENDING (all hubs) */
    atomic_llong               wh_oldest_s;     /* age of the oldest, seconds */
    char                       db_error[HUB_ERROR_MAX]; /* guarded by health_lock */
    pthread_mutex_t            health_lock;
    atomic_int                 stopping;
    int64_t                market_stamp;   /* last package_events id reconciled */
};

/* Run the daemon until a signal stops it. Returns a process exit code (0 on a clean stop). */
int hub_run(struct hub *hub, struct hub_error *err);

/* Built-in job kinds registered in every hub. */
#define HUB_JOB_SELFTEST "hub.selftest"

#endif
