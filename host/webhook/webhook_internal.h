/*
 * Internal to the webhook receiver: the state the loop side (webhook.c) and the writer thread
 * (webhook_writer.c) share, and the few functions each calls in the other.
 */
#ifndef HUB_WEBHOOK_INTERNAL_H
#define HUB_WEBHOOK_INTERNAL_H

#include "webhook/webhook.h"

#include <event2/event.h>
#include <event2/http.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

#define WH_BUCKETS       1024
#define WH_CACHE_MAX     65536
#define WH_NEG_TTL_MS    5000
#define WH_RECHECK_MS    2000             /* see cache_expire_if_old */
#define WH_DELIVERY_MAX  256
#define WH_HEADERS_MAX   (64u * 1024)

/* One integration as the loop sees it. found == 0: a cached "no such integration". */
struct wh_entry {
    struct wh_entry *next;
    int64_t          id;
    int              found;
    char             platform[64];
    char            *secret;
    size_t           secret_len;
    int64_t          loaded_ms;
};

enum { ITEM_LOOKUP = 1, ITEM_STORE = 2 };

struct wh_item {
    struct wh_item        *next;
    int                    kind;
    struct evhttp_request *req;
    int64_t                integration_id;
    char                   platform[64];
    int64_t                recv_us;
    /* ITEM_STORE */
    char                  *body;
    size_t                 body_len;
    char                  *headers;        /* JSON object */
    char                  *topic;
    char                  *signature;
    char                   delivery_id[WH_DELIVERY_MAX + 1];
    char                   peer[64];       /* "" = unknown */
    int                    verify;         /* the connector's verify() runs on the writer */
    /* result */
    int                    status;         /* 200, 401, 500, 503 */
    int                    duplicate;
    int                    stale;          /* 401 for an old timestamp, not a bad signature */
    char                   why[256];       /* the 401's sentence */
};

struct hub_webhook {
    struct event_base      *base;
    struct hub_http_server *http;
    struct hub_plugins     *plugins;
    const struct hub_crypto_keyring *keys;
    struct hub_sync        *sync;
    char                    public_url[512];
    char                    conninfo[1024];
    size_t                  max_body;
    unsigned                queue_max;
    unsigned                batch_max;
    int                     cache_ttl_ms;
    struct hub_webhook_proc_cfg proc;
    _Atomic int64_t         busy_until_ms;  /* a burst: processing yields until then */

    pthread_mutex_t         cache_lock;
    struct wh_entry        *buckets[WH_BUCKETS];
    size_t                  n_entries;

    pthread_mutex_t         lock;
    pthread_cond_t          cond;
    struct wh_item         *q_head, *q_tail;
    unsigned                q_n;
    struct wh_item         *done;
    int                     stopping;      /* no new items */
    int                     thread_started;
    int                     stopped;
    int64_t                 deadline_ms;   /* writer: answer 503 after this (stop) */
    pthread_t               thread;
    struct hub_db           db;
    int                     pipe_rd, pipe_wr;
    struct event           *pipe_ev;

    atomic_ullong           n_accepted, n_duplicate, n_rej_sig, n_rej_unknown, n_rej_size,
                            n_rej_full, n_pings, n_commits, n_processed, n_retried, n_failed;
};

/* Writer thread: load one integration and its signing secret into the cache. */
int     wh_cache_load(struct hub_webhook *wh, int64_t id, struct hub_error *err);
/* Wake the event loop: items are done (writer thread). */
void    wh_wake_loop(struct hub_webhook *wh);
/* The writer thread (webhook_writer.c). */
void   *wh_writer_main(void *arg);

#endif /* HUB_WEBHOOK_INTERNAL_H */
