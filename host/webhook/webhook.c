/*
 * The receiving half of the webhook pipeline: the route, the integration cache, signature
 * checks, and the lifecycle of the group-committing writer thread (webhook_writer.c). See
 * webhook.h.
 */
#include "webhook/webhook_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "plugin/hostapi.h"
#include "queue/queue.h"
#include "queue/worker.h"
#include "sync/engine.h"


static int64_t
mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
count(const char *platform, const char *outcome)
{
    char labels[160];

    snprintf(labels, sizeof(labels), "platform=\"%s\",outcome=\"%s\"", platform, outcome);
    hub_metric_inc("simplix_webhook_deliveries_total", labels,
                   "Webhook deliveries and processing outcomes by platform");
}

static void
item_free(struct wh_item *it)
{
    if (it == NULL)
        return;
    free(it->body);
    free(it->headers);
    free(it->topic);
    free(it->signature);
    free(it);
}

/* ---- the integration cache ----------------------------------------------------------------- */

static struct wh_entry **
cache_slot(struct hub_webhook *wh, int64_t id)
{
    struct wh_entry **pp = &wh->buckets[(uint64_t)id % WH_BUCKETS];

    while (*pp != NULL && (*pp)->id != id)
        pp = &(*pp)->next;
    return pp;
}

static void
entry_free(struct wh_entry *e)
{
    if (e->secret != NULL)
        hub_crypto_free_secret(e->secret, e->secret_len);
    free(e);
}

static void
cache_clear(struct hub_webhook *wh)
{
    size_t i;

    for (i = 0; i < WH_BUCKETS; i++) {
        while (wh->buckets[i] != NULL) {
            struct wh_entry *e = wh->buckets[i];

            wh->buckets[i] = e->next;
            entry_free(e);
        }
    }
    wh->n_entries = 0;
}

/* Takes ownership of `e`. */
static void
cache_put(struct hub_webhook *wh, struct wh_entry *e)
{
    struct wh_entry **pp;

    pthread_mutex_lock(&wh->cache_lock);
    if (wh->n_entries >= WH_CACHE_MAX)
        cache_clear(wh);
    pp = cache_slot(wh, e->id);
    if (*pp != NULL) {
        struct wh_entry *old = *pp;

        e->next = old->next;
        *pp = e;
        entry_free(old);
    } else {
        e->next = NULL;
        *pp = e;
        wh->n_entries++;
    }
    pthread_mutex_unlock(&wh->cache_lock);
}

/*
 * Look the integration up. Returns 1 with *found / platform / a copy of the secret (malloc'd,
 * the caller wipes it) when the cache holds a fresh entry, 0 on a miss.
 */
static int
cache_get(struct hub_webhook *wh, int64_t id, int *found, char *platform, size_t pcap,
          char **secret, size_t *secret_len)
{
    struct wh_entry *e;
    int              hit = 0;
    int64_t          age;

    *secret = NULL;
    *secret_len = 0;
    pthread_mutex_lock(&wh->cache_lock);
    e = *cache_slot(wh, id);
    if (e != NULL) {
        age = hub_clock_ms(CLOCK_MONOTONIC) - e->loaded_ms;
        if (age < (e->found ? wh->cache_ttl_ms : WH_NEG_TTL_MS)) {
            hit = 1;
            *found = e->found;
            snprintf(platform, pcap, "%s", e->platform);
            if (e->secret != NULL) {
                *secret = malloc(e->secret_len + 1);
                if (*secret != NULL) {
                    memcpy(*secret, e->secret, e->secret_len + 1);
                    *secret_len = e->secret_len;
                }
            }
        }
    }
    pthread_mutex_unlock(&wh->cache_lock);
    return hit;
}

/*
 * A signature that fails against a cached secret older than WH_RECHECK_MS may have been made
 * with a secret rotated since (a connector's subscribe() sets a new one): expire the entry so
 * the delivery is checked once more against the database. Returns 1 when it expired it.
 * Forgeries cost at most one lookup per integration per WH_RECHECK_MS.
 */
static int
cache_expire_if_old(struct hub_webhook *wh, int64_t id)
{
    struct wh_entry *e;
    int              expired = 0;

    pthread_mutex_lock(&wh->cache_lock);
    e = *cache_slot(wh, id);
    if (e != NULL && e->found && hub_clock_ms(CLOCK_MONOTONIC) - e->loaded_ms >= WH_RECHECK_MS) {
        e->loaded_ms = hub_clock_ms(CLOCK_MONOTONIC) - (int64_t)wh->cache_ttl_ms - 1;
        expired = 1;
    }
    pthread_mutex_unlock(&wh->cache_lock);
    return expired;
}

/* Writer thread: load one integration and its signing secret into the cache. */
int
wh_cache_load(struct hub_webhook *wh, int64_t id, struct hub_error *err)
{
    struct hub_plugin *p;
    struct wh_entry   *e;
    PGresult          *res = NULL;
    const char        *params[1];
    char               idbuf[32];
    int                rc;

    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "webhook cache: out of memory");
    e->id = id;
    e->loaded_ms = hub_clock_ms(CLOCK_MONOTONIC);
    snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
    params[0] = idbuf;
    rc = hub_db_query(&wh->db, "SELECT platform FROM integrations WHERE id = $1 "
                      "AND deleted_at IS NULL AND status <> 'DISCONNECTED'",
                      1, params, &res, err);
    if (rc < 0) {
        free(e);
        return rc;
    }
    if (PQntuples(res) == 1) {
        e->found = 1;
        snprintf(e->platform, sizeof(e->platform), "%s", PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    if (e->found) {
        p = hub_plugins_acquire(wh->plugins, e->platform);
        if (p != NULL && p->has_webhook && p->webhook.secret_key != NULL) {
            rc = hub_secret_load(&wh->db, wh->keys, id, p->webhook.secret_key, &e->secret,
                                 &e->secret_len, err);
            if (rc < 0 && rc != HUB_E_NOT_FOUND) {
                hub_plugins_release(wh->plugins, p);
                free(e);
                return rc;
            }
            if (rc < 0) {
                e->secret = NULL;
                e->secret_len = 0;
            }
        }
        if (p != NULL)
            hub_plugins_release(wh->plugins, p);
    }
    cache_put(wh, e);
    return 0;
}

/* ---- the loop side ------------------------------------------------------------------------- */

static void
send_json(struct evhttp_request *req, int status, const char *json)
{
    struct evbuffer *b = evbuffer_new();
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    if (b != NULL)
        evbuffer_add(b, json, strlen(json));
    evhttp_send_reply(req, status, NULL, b);
    if (b != NULL)
        evbuffer_free(b);
}

void
wh_wake_loop(struct hub_webhook *wh)
{
    char    c = 1;
    ssize_t r;

    r = write(wh->pipe_wr, &c, 1);
    (void)r;     /* a full pipe already holds a wake-up */
}

/* Queue an item for the writer; 0, or -1 when full or stopping (the caller answers 503). */
static int
enqueue_item(struct hub_webhook *wh, struct wh_item *it)
{
    pthread_mutex_lock(&wh->lock);
    if (wh->stopping || wh->q_n >= wh->queue_max) {
        pthread_mutex_unlock(&wh->lock);
        return -1;
    }
    it->next = NULL;
    if (wh->q_tail != NULL)
        wh->q_tail->next = it;
    else
        wh->q_head = it;
    wh->q_tail = it;
    wh->q_n++;
    pthread_cond_signal(&wh->cond);
    pthread_mutex_unlock(&wh->lock);
    return 0;
}

static const char *
in_header(struct evhttp_request *req, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(req), name);
}

static int
headers_json(struct evhttp_request *req, char **out)
{
    struct evkeyvalq *hs = evhttp_request_get_input_headers(req);
    struct evkeyval  *kv;
    struct hub_buf    b;
    int               first = 1;

    hub_buf_init(&b, WH_HEADERS_MAX);
    hub_buf_puts(&b, "{");
    TAILQ_FOREACH(kv, hs, next) {
        if (!first && hub_buf_puts(&b, ",") < 0)
            goto fail;
        first = 0;
        if (hub_buf_json_str(&b, kv->key, strlen(kv->key)) < 0 || hub_buf_puts(&b, ":") < 0 ||
            hub_buf_json_str(&b, kv->value, strlen(kv->value)) < 0)
            goto fail;
    }
    if (hub_buf_puts(&b, "}") < 0)
        goto fail;
    *out = hub_buf_steal(&b, NULL);
    return *out != NULL ? 0 : -1;
fail:
    hub_buf_free(&b);
    return -1;
}

/* Check the signature the connector declares. 1 valid, 0 not. */
static int
signature_ok(struct hub_webhook *wh, const struct hub_plugin *p, const char *path,
             const char *sig, const unsigned char *body, size_t len, const char *secret,
             size_t secret_len)
{
    uint8_t  mac[32];
    char     enc[128];
    size_t   enc_len = 0;
    int      rc;

    if (sig == NULL || secret == NULL)
        return 0;
    switch (p->webhook.sig_scheme) {
    case SX_SIG_HMAC_SHA256_B64:
    case SX_SIG_HMAC_SHA256_HEX:
        rc = hub_crypto_hmac_sha256(secret, secret_len, body, len, mac);
        break;
    case SX_SIG_HMAC_URL_BODY_B64: {
        struct hub_buf m;

        hub_buf_init(&m, len + 4096);
        if (hub_buf_puts(&m, wh->public_url) < 0 || hub_buf_puts(&m, path) < 0 ||
            (len > 0 && hub_buf_append(&m, body, len) < 0)) {
            hub_buf_free(&m);
            return 0;
        }
        rc = hub_crypto_hmac_sha256(secret, secret_len, m.data, m.len, mac);
        hub_buf_free(&m);
        break;
    }
    default:
        return 0;      /* SX_SIG_CUSTOM: not supported yet (verify() needs an instance) */
    }
    if (rc < 0)
        return 0;
    if (p->webhook.sig_scheme == SX_SIG_HMAC_SHA256_HEX) {
        if (strncasecmp(sig, "sha256=", 7) == 0)
            sig += 7;
        rc = hub_crypto_hex_encode(mac, 32, enc, sizeof(enc));
        enc_len = 64;
        if (rc < 0 || strlen(sig) != 64)
            return 0;
        {
            char low[65];
            size_t i;

            for (i = 0; i < 64; i++)
                low[i] = (char)((sig[i] >= 'A' && sig[i] <= 'F') ? sig[i] + 32 : sig[i]);
            low[64] = '\0';
            return hub_crypto_consttime_eq(enc, enc_len, low, 64);
        }
    }
    rc = hub_crypto_b64_encode(mac, 32, HUB_B64_STD, enc, sizeof(enc), &enc_len);
    if (rc < 0)
        return 0;
    return hub_crypto_consttime_eq(enc, enc_len, sig, strlen(sig));
}

static void
refuse(struct hub_webhook *wh, struct evhttp_request *req, const char *platform, int status,
       const char *code, const char *message, const char *outcome)
{
    if (status == 404)
        atomic_fetch_add(&wh->n_rej_unknown, 1);
    else if (status == 401)
        atomic_fetch_add(&wh->n_rej_sig, 1);
    else if (status == 413)
        atomic_fetch_add(&wh->n_rej_size, 1);
    else if (status == 503)
        atomic_fetch_add(&wh->n_rej_full, 1);
    count(platform, outcome);
    hub_http_send_error(req, status, code, message);
}

/*
 * Check a delivery and queue it (or its integration's lookup). Answers every refusal itself.
 * `looked_up`: the cache was just filled for this request (a miss now means unknown).
 */
static void
handle(struct hub_webhook *wh, struct evhttp_request *req, const char *path_platform,
       int64_t id, int64_t recv_us, int looked_up)
{
    struct evbuffer     *in = evhttp_request_get_input_buffer(req);
    struct hub_plugin   *p;
    struct wh_item      *it;
    const unsigned char *body;
    const char          *sig, *dk, *topic, *peer_addr = NULL;
    char                 platform[64], *secret = NULL, path[256];
    size_t               len, secret_len = 0;
    int                  found = 0, hit, verify;
    ev_uint16_t          port = 0;
    struct evhttp_connection *conn;

    len = evbuffer_get_length(in);
    if (len > wh->max_body) {
        refuse(wh, req, path_platform, 413, "too_large", "webhook body over the limit",
               "rejected_size");
        return;
    }
    hit = cache_get(wh, id, &found, platform, sizeof(platform), &secret, &secret_len);
    if (!hit && !looked_up) {
        it = calloc(1, sizeof(*it));
        if (it == NULL) {
            refuse(wh, req, path_platform, 503, "unavailable", "out of memory", "rejected_full");
            return;
        }
        it->kind = ITEM_LOOKUP;
        it->req = req;
        it->integration_id = id;
        it->recv_us = recv_us;
        snprintf(it->platform, sizeof(it->platform), "%s", path_platform);
        if (enqueue_item(wh, it) < 0) {
            free(it);
            refuse(wh, req, path_platform, 503, "unavailable", "webhook queue full, retry later",
                   "rejected_full");
        }
        return;
    }
    if (!hit || !found || strcmp(platform, path_platform) != 0) {
        if (secret != NULL)
            hub_crypto_free_secret(secret, secret_len);
        refuse(wh, req, path_platform, 404, "not_found", "no such integration for this platform",
               "rejected_unknown");
        return;
    }
    p = hub_plugins_acquire(wh->plugins, platform);
    if (p == NULL || !p->has_webhook) {
        if (p != NULL)
            hub_plugins_release(wh->plugins, p);
        hub_crypto_free_secret(secret, secret_len);
        refuse(wh, req, path_platform, 404, "not_found", "this connector takes no webhooks",
               "rejected_unknown");
        return;
    }
    body = evbuffer_pullup(in, -1);
    if (body == NULL)
        body = (const unsigned char *)"";
    sig = p->webhook.sig_header != NULL ? in_header(req, p->webhook.sig_header) : NULL;
    /* WooCommerce's creation ping: a form post "webhook_id=N", unsigned. */
    if (sig == NULL && strcmp(platform, "woocommerce") == 0 && len >= 11 && len < 64 &&
        memcmp(body, "webhook_id=", 11) == 0) {
        hub_plugins_release(wh->plugins, p);
        hub_crypto_free_secret(secret, secret_len);
        atomic_fetch_add(&wh->n_pings, 1);
        count(platform, "ping");
        send_json(req, 200, "{\"status\":\"ping\"}\n");
        return;
    }
    snprintf(path, sizeof(path), "/api/webhooks/%s/%" PRId64, platform, id);
    if (p->webhook.sig_scheme == SX_SIG_CUSTOM) {
        /* The connector's verify() checks it, on the writer thread (it may read secrets). */
        if (p->webhook.sig_header != NULL && p->webhook.sig_header[0] != '\0' && sig == NULL) {
            hub_plugins_release(wh->plugins, p);
            hub_crypto_free_secret(secret, secret_len);
            refuse(wh, req, platform, 401, "bad_signature", "missing signature",
                   "rejected_signature");
            return;
        }
    } else if (!signature_ok(wh, p, path, sig, body, len, secret, secret_len)) {
        hub_plugins_release(wh->plugins, p);
        hub_crypto_free_secret(secret, secret_len);
        if (!looked_up && sig != NULL && cache_expire_if_old(wh, id)) {
            handle(wh, req, path_platform, id, recv_us, 0);     /* a miss now: reloads */
            return;
        }
        refuse(wh, req, platform, 401, "bad_signature",
               sig == NULL ? "missing signature" : "signature does not match",
               "rejected_signature");
        return;
    }
    hub_crypto_free_secret(secret, secret_len);
    dk = p->webhook.dedupe_header != NULL ? in_header(req, p->webhook.dedupe_header) : NULL;
    topic = p->webhook.topic_header != NULL ? in_header(req, p->webhook.topic_header) : NULL;
    verify = p->webhook.verify != NULL;
    hub_plugins_release(wh->plugins, p);

    it = calloc(1, sizeof(*it));
    if (it == NULL)
        goto nomem;
    it->kind = ITEM_STORE;
    it->verify = verify;
    it->req = req;
    it->integration_id = id;
    it->recv_us = recv_us;
    snprintf(it->platform, sizeof(it->platform), "%s", platform);
    if (dk != NULL && dk[0] != '\0' && strlen(dk) <= WH_DELIVERY_MAX) {
        snprintf(it->delivery_id, sizeof(it->delivery_id), "%s", dk);
    } else if (hub_crypto_sha256_hex(body, len, it->delivery_id) < 0) {
        goto nomem;
    }
    it->body = malloc(len + 1);
    it->topic = strdup(topic != NULL ? topic : "");
    it->signature = strdup(sig != NULL ? sig : "");
    if (it->body == NULL || it->topic == NULL || it->signature == NULL ||
        headers_json(req, &it->headers) < 0)
        goto nomem;
    memcpy(it->body, body, len);
    it->body[len] = '\0';
    it->body_len = len;
    conn = evhttp_request_get_connection(req);
    if (conn != NULL)
        evhttp_connection_get_peer(conn, (char **)&peer_addr, &port);
    if (peer_addr != NULL) {
        unsigned char tmp[16];

        if (inet_pton(AF_INET, peer_addr, tmp) == 1 || inet_pton(AF_INET6, peer_addr, tmp) == 1)
            snprintf(it->peer, sizeof(it->peer), "%s", peer_addr);
    }
    if (enqueue_item(wh, it) < 0) {
        item_free(it);
        refuse(wh, req, platform, 503, "unavailable", "webhook queue full, retry later",
               "rejected_full");
    }
    return;
nomem:
    item_free(it);
    refuse(wh, req, platform, 503, "unavailable", "out of memory", "rejected_full");
}

static int
route(struct hub_http_ctx *ctx, void *arg)
{
    struct hub_webhook *wh = arg;
    const char         *platform = hub_http_param(ctx, "platform");
    const char         *ids = hub_http_param(ctx, "integration_id");
    char               *end = NULL;
    long long           id;

    if (platform == NULL || ids == NULL || strlen(platform) >= 64 || ids[0] < '1' ||
        ids[0] > '9') {
        refuse(wh, ctx->req, "unknown", 404, "not_found", "no such integration",
               "rejected_unknown");
        return 1;
    }
    errno = 0;
    id = strtoll(ids, &end, 10);
    if (errno != 0 || *end != '\0' || id <= 0) {
        refuse(wh, ctx->req, "unknown", 404, "not_found", "no such integration",
               "rejected_unknown");
        return 1;
    }
    {
        size_t i;

        for (i = 0; platform[i] != '\0'; i++) {
            char c = platform[i];

            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
                refuse(wh, ctx->req, "unknown", 404, "not_found", "no such platform",
                       "rejected_unknown");
                return 1;
            }
        }
    }
    handle(wh, ctx->req, platform, id, mono_us(), 0);
    return 1;     /* answered (now or later) by us, not by the server */
}

static void
answer(struct hub_webhook *wh, struct wh_item *it)
{
    char labels[128];

    if (it->status == 200) {
        atomic_fetch_add(it->duplicate ? &wh->n_duplicate : &wh->n_accepted, 1);
        count(it->platform, it->duplicate ? "duplicate" : "accepted");
        send_json(it->req, 200, it->duplicate ? "{\"status\":\"duplicate\"}\n"
                                              : "{\"status\":\"accepted\"}\n");
        snprintf(labels, sizeof(labels), "platform=\"%s\"", it->platform);
        hub_metric_observe_us(hub_metric_get(HUB_METRIC_HISTOGRAM, "simplix_webhook_ack_seconds",
                                             labels, "Webhook receipt to durable 200"),
                              mono_us() - it->recv_us);
    } else if (it->status == 503) {
        refuse(wh, it->req, it->platform, 503, "unavailable", "hub stopping, retry later",
               "rejected_full");
    } else if (it->status == 401) {
        refuse(wh, it->req, it->platform, 401, it->stale ? "stale_timestamp" : "bad_signature",
               it->why, it->stale ? "rejected_stale" : "rejected_signature");
    } else {
        count(it->platform, "error");
        hub_http_send_error(it->req, 500, "internal", "could not store the delivery");
    }
}

static void
on_pipe(evutil_socket_t fd, short what, void *arg)
{
    struct hub_webhook *wh = arg;
    struct wh_item     *list, *it, *rev = NULL;
    char                drain[256];
    unsigned            n;

    (void)what;
    while (read(fd, drain, sizeof(drain)) > 0)
        ;
    pthread_mutex_lock(&wh->lock);
    list = wh->done;
    wh->done = NULL;
    pthread_mutex_unlock(&wh->lock);
    while (list != NULL) {          /* the done list is LIFO: answer in arrival order */
        it = list;
        list = it->next;
        it->next = rev;
        rev = it;
    }
    while (rev != NULL) {
        it = rev;
        rev = it->next;
        if (it->kind == ITEM_LOOKUP) {
            if (it->status == 200)
                handle(wh, it->req, it->platform, it->integration_id, it->recv_us, 1);
            else if (it->status == 503)
                refuse(wh, it->req, it->platform, 503, "unavailable", "retry later",
                       "rejected_full");
            else
                hub_http_send_error(it->req, 500, "internal", "integration lookup failed");
        } else {
            answer(wh, it);
        }
        item_free(it);
    }
    pthread_mutex_lock(&wh->lock);
    n = wh->q_n;
    pthread_mutex_unlock(&wh->lock);
    hub_metric_set(hub_metric_get(HUB_METRIC_GAUGE, "simplix_webhook_write_queue", "",
                                  "Webhook deliveries waiting for the writer"), (long long)n);
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

static int
job_fn(const struct hub_job *job, struct hub_job_run *run, void *ctx, struct hub_error *err)
{
    struct hub_webhook *wh = ctx;
    uint64_t            processed = 0, retried = 0, failed = 0;
    int64_t             id = job->integration_id;
    int                 rc;

    if (id <= 0) {
        const char *p = strstr(job->payload, "\"integration_id\"");

        if (p != NULL && (p = strchr(p, ':')) != NULL)
            id = strtoll(p + 1, NULL, 10);
    }
    if (id <= 0)
        return hub_error_set(err, HUB_E_INVALID, "webhook.process: no integration_id");
    rc = hub_webhook_process_job(&wh->proc, run->db, id, &processed, &retried, &failed, err);
    atomic_fetch_add(&wh->n_processed, processed);
    atomic_fetch_add(&wh->n_retried, retried);
    atomic_fetch_add(&wh->n_failed, failed);
    return rc;
}

int
hub_webhook_register_jobs(struct hub_webhook *wh, struct hub_worker_pool *pool,
                          struct hub_error *err)
{
    int rc;

    rc = hub_worker_register(pool, HUB_JOB_WEBHOOK_PROCESS, job_fn, wh);
    if (rc < 0)
        return hub_error_set(err, rc, "webhook: cannot register %s", HUB_JOB_WEBHOOK_PROCESS);
    return 0;
}

int
hub_webhook_start(const struct hub_webhook_opts *opts, struct hub_webhook **out,
                  struct hub_error *err)
{
    struct hub_webhook *wh;
    int                 fds[2], rc;

    if (opts == NULL || opts->base == NULL || opts->http == NULL || opts->conninfo == NULL ||
        opts->plugins == NULL || opts->keys == NULL)
        return hub_error_set(err, HUB_E_INVALID, "webhook: base, http, conninfo, plugins and "
                             "keys are required");
    wh = calloc(1, sizeof(*wh));
    if (wh == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "webhook: out of memory");
    wh->base = opts->base;
    wh->http = opts->http;
    wh->plugins = opts->plugins;
    wh->keys = opts->keys;
    wh->sync = opts->sync;
    snprintf(wh->public_url, sizeof(wh->public_url), "%s",
             opts->public_url != NULL ? opts->public_url : "");
    snprintf(wh->conninfo, sizeof(wh->conninfo), "%s", opts->conninfo);
    wh->max_body = opts->max_body != 0 ? opts->max_body : 1024 * 1024;
    wh->queue_max = opts->queue_max != 0 ? opts->queue_max : 8192;
    wh->batch_max = opts->batch_max != 0 ? opts->batch_max : 512;
    if (wh->batch_max > 4096)
        wh->batch_max = 4096;
    wh->cache_ttl_ms = opts->cache_ttl_ms > 0 ? opts->cache_ttl_ms : 60000;
    wh->proc.plugins = opts->plugins;
    wh->proc.sync = opts->sync;
    wh->proc.public_url = wh->public_url;
    wh->proc.max_attempts = opts->max_attempts > 0 ? opts->max_attempts : 8;
    wh->proc.backoff_base_ms = opts->backoff_base_ms > 0 ? opts->backoff_base_ms : 1000;
    wh->proc.backoff_cap_ms = opts->backoff_cap_ms > 0 ? opts->backoff_cap_ms : 3600000;
    wh->proc.yield_lag_ms = opts->yield_lag_ms;
    wh->proc.busy_until_ms = &wh->busy_until_ms;
    wh->pipe_rd = wh->pipe_wr = -1;
    wh->deadline_ms = -1;
    pthread_mutex_init(&wh->cache_lock, NULL);
    pthread_mutex_init(&wh->lock, NULL);
    pthread_cond_init(&wh->cond, NULL);

    rc = hub_db_connect(&wh->db, wh->conninfo, err);
    if (rc < 0)
        goto fail;
    rc = hub_db_exec(&wh->db, "SET synchronous_commit = on", err);
    if (rc < 0)
        goto fail;
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        rc = hub_error_set(err, HUB_E_IO, "webhook: pipe: %s", strerror(errno));
        goto fail;
    }
    wh->pipe_rd = fds[0];
    wh->pipe_wr = fds[1];
    wh->pipe_ev = event_new(wh->base, wh->pipe_rd, EV_READ | EV_PERSIST, on_pipe, wh);
    if (wh->pipe_ev == NULL || event_add(wh->pipe_ev, NULL) != 0) {
        rc = hub_error_set(err, HUB_E_IO, "webhook: cannot watch the wake-up pipe");
        goto fail;
    }
    rc = hub_http_route(wh->http, HUB_M_POST, HUB_WEBHOOK_ROUTE, route, wh);
    if (rc < 0) {
        rc = hub_error_set(err, rc, "webhook: cannot add the route");
        goto fail;
    }
    if (pthread_create(&wh->thread, NULL, wh_writer_main, wh) != 0) {
        rc = hub_error_set(err, HUB_E_INTERNAL, "webhook: cannot start the writer thread");
        goto fail;
    }
    wh->thread_started = 1;
    *out = wh;
    return 0;
fail:
    /* A route already added stays pointing at wh: only possible after hub_http_route, which
     * is the last step before the thread; keep wh alive in that case is not needed since the
     * daemon exits on a start failure. */
    if (wh->pipe_ev != NULL)
        event_free(wh->pipe_ev);
    if (wh->pipe_rd >= 0)
        close(wh->pipe_rd);
    if (wh->pipe_wr >= 0)
        close(wh->pipe_wr);
    hub_db_close(&wh->db);
    pthread_mutex_destroy(&wh->cache_lock);
    pthread_mutex_destroy(&wh->lock);
    pthread_cond_destroy(&wh->cond);
    free(wh);
    return rc;
}

void
hub_webhook_stop(struct hub_webhook *wh, int timeout_ms)
{
    if (wh == NULL || wh->stopped)
        return;
    pthread_mutex_lock(&wh->lock);
    wh->stopping = 1;
    wh->deadline_ms = timeout_ms < 0 ? -1 : hub_clock_ms(CLOCK_MONOTONIC) + timeout_ms;
    pthread_cond_broadcast(&wh->cond);
    pthread_mutex_unlock(&wh->lock);
    if (wh->thread_started)
        pthread_join(wh->thread, NULL);
    wh->thread_started = 0;
    on_pipe(wh->pipe_rd, EV_READ, wh);      /* answer everything the writer finished */
    hub_db_close(&wh->db);
    wh->stopped = 1;
}

void
hub_webhook_free(struct hub_webhook *wh)
{
    if (wh == NULL)
        return;
    hub_webhook_stop(wh, -1);
    if (wh->pipe_ev != NULL)
        event_free(wh->pipe_ev);
    close(wh->pipe_rd);
    close(wh->pipe_wr);
    pthread_mutex_lock(&wh->cache_lock);
    cache_clear(wh);
    pthread_mutex_unlock(&wh->cache_lock);
    pthread_mutex_destroy(&wh->cache_lock);
    pthread_mutex_destroy(&wh->lock);
    pthread_cond_destroy(&wh->cond);
    free(wh);
}

void
hub_webhook_get_stats(struct hub_webhook *wh, struct hub_webhook_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->accepted = atomic_load(&wh->n_accepted);
    out->duplicate = atomic_load(&wh->n_duplicate);
    out->rejected_signature = atomic_load(&wh->n_rej_sig);
    out->rejected_unknown = atomic_load(&wh->n_rej_unknown);
    out->rejected_size = atomic_load(&wh->n_rej_size);
    out->rejected_full = atomic_load(&wh->n_rej_full);
    out->pings = atomic_load(&wh->n_pings);
    out->commits = atomic_load(&wh->n_commits);
    out->processed = atomic_load(&wh->n_processed);
    out->retried = atomic_load(&wh->n_retried);
    out->failed = atomic_load(&wh->n_failed);
    pthread_mutex_lock(&wh->lock);
    out->queued = wh->q_n;
    pthread_mutex_unlock(&wh->lock);
}
