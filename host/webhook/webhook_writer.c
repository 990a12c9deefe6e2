/*
 * The webhook receiver's writer thread: the deliveries the loop queued are stored durably,
 * many in one transaction (one prepared statement per batch, its events as binary arrays, the
 * processing jobs and the NOTIFY in the same statement), then answered by the loop. A
 * connector's own verify() runs here first. See webhook.h.
 */
#include "webhook/webhook_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "plugin/hostapi.h"
#include "queue/queue.h"
#include "sync/engine.h"

/* ---- the writer thread --------------------------------------------------------------------- */

/*
 * Acknowledgements before processing. When the writer takes WH_BUSY_BATCH deliveries or more
 * at once, they arrive faster than one commit per delivery: a burst. For the next
 * WH_BUSY_HOLD_MS, this hub's processing jobs pause between batches (see
 * hub_webhook_proc_cfg.yield_lag_ms) and leave the CPU to the acknowledgements.
 */
#define WH_BUSY_BATCH   16
#define WH_BUSY_HOLD_MS 100

static void
finish(struct hub_webhook *wh, struct wh_item *list)
{
    struct wh_item *it, *next;

    if (list == NULL)
        return;
    pthread_mutex_lock(&wh->lock);
    for (it = list; it != NULL; it = next) {
        next = it->next;
        it->next = wh->done;
        wh->done = it;
    }
    pthread_mutex_unlock(&wh->lock);
    wh_wake_loop(wh);
}

/*
 * One statement stores a batch and enqueues its processing: the events go in as binary arrays
 * (a prepared statement, parsed and planned once per connection; bodies sent as they are, not
 * escaped), in arrival order (ids follow it, and processing per record follows the ids); each
 * integration that got a new event gets the job hub_webhook_enqueue() would make, woken by the
 * queue's NOTIFY. As one statement it is one transaction and one round trip: the commit is its
 * own, so nothing is acknowledged before it.
 */
static const char insert_sql[] =
    "WITH ev AS ("
    " INSERT INTO integration_webhook_events (integration_id, platform, topic, delivery_id,"
    "                                         headers, body, source_ip, signature)"
    " SELECT u.i, u.p, u.t, u.d, u.h::jsonb, u.b, u.a::inet, u.s"
    "   FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[],"
    "               $7::text[], $8::text[]) WITH ORDINALITY AS u(i, p, t, d, h, b, a, s, n)"
    "  ORDER BY u.n"
    " ON CONFLICT (integration_id, delivery_id) DO NOTHING"
    " RETURNING integration_id, delivery_id),"
    " jb AS ("
    " INSERT INTO jobs (queue, kind, payload, max_attempts, integration_id)"
    " SELECT '" HUB_QUEUE_DEFAULT "', '" HUB_JOB_WEBHOOK_PROCESS "',"
    "        jsonb_build_object('integration_id', x.i), 20, x.i"
    "   FROM (SELECT DISTINCT integration_id AS i FROM ev) x"
    " RETURNING queue)"
    " SELECT e.integration_id, e.delivery_id FROM ev e"
    "  CROSS JOIN (SELECT count(pg_notify('" HUB_QUEUE_CHANNEL "', jb.queue)) FROM jb) w";

#define INSERT_COLS  8
#define WH_ARRAY_MAX (512 * 1024 * 1024)
#define OID_INT8    20
#define OID_BYTEA   17
#define OID_TEXT    25

static void
put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* PostgreSQL's binary array header: one dimension of n elements of type oid, from 1. */
static int
array_begin(struct hub_buf *b, uint32_t oid, size_t n, int has_null)
{
    unsigned char h[20];

    put_be32(h, 1);
    put_be32(h + 4, has_null ? 1 : 0);
    put_be32(h + 8, oid);
    put_be32(h + 12, (uint32_t)n);
    put_be32(h + 16, 1);
    return hub_buf_append(b, h, sizeof(h));
}

/* One element: its length then its bytes; NULL when data is NULL. */
static int
array_item(struct hub_buf *b, const void *data, size_t len)
{
    unsigned char l[4];

    put_be32(l, data == NULL ? 0xffffffffu : (uint32_t)len);
    if (hub_buf_append(b, l, sizeof(l)) < 0)
        return -1;
    return data == NULL || len == 0 ? 0 : hub_buf_append(b, data, len);
}

/* Insert items[0..n) with one statement (its own transaction); marks duplicates. 0 or
 * HUB_E_DB. */
static int
insert_batch(struct hub_webhook *wh, struct wh_item **items, size_t n, struct hub_error *err)
{
    struct hub_buf arr[INSERT_COLS];
    const char    *vals[INSERT_COLS];
    int            lens[INSERT_COLS], fmts[INSERT_COLS];
    PGresult      *res = NULL;
    size_t         i, j, k, total = 64;
    int            c, rc = 0, bad = 0;

    for (i = 0; i < n; i++)
        total += items[i]->body_len + strlen(items[i]->headers) + 64;
    /* PostgreSQL takes a parameter of at most 1 GB (and lengths here are int): a batch of
     * large bodies that would pass it fails here, and store() writes its deliveries one by
     * one instead. */
    if (total + n * 8 > WH_ARRAY_MAX)
        return hub_error_set(err, HUB_E_LIMIT, "webhook writer: a batch of %zu deliveries "
                             "is %zu bytes, over one statement's %d", n, total,
                             WH_ARRAY_MAX);
    for (c = 0; c < INSERT_COLS; c++) {
        hub_buf_init(&arr[c], total + n * 8 + 64);
        bad |= array_begin(&arr[c], c == 0 ? OID_INT8 : c == 5 ? OID_BYTEA : OID_TEXT, n,
                           c == 6 || c == 7) < 0;
    }
    for (i = 0; i < n && !bad; i++) {
        struct wh_item *it = items[i];
        unsigned char   id[8];
        uint64_t        v = (uint64_t)it->integration_id;

        for (k = 0; k < 8; k++)
            id[k] = (unsigned char)(v >> (56 - 8 * k));
        bad |= array_item(&arr[0], id, 8) < 0;
        bad |= array_item(&arr[1], it->platform, strlen(it->platform)) < 0;
        bad |= array_item(&arr[2], it->topic, strlen(it->topic)) < 0;
        bad |= array_item(&arr[3], it->delivery_id, strlen(it->delivery_id)) < 0;
        bad |= array_item(&arr[4], it->headers, strlen(it->headers)) < 0;
        bad |= array_item(&arr[5], it->body, it->body_len) < 0;
        bad |= array_item(&arr[6], it->peer[0] != '\0' ? it->peer : NULL, strlen(it->peer)) < 0;
        bad |= array_item(&arr[7], it->signature, it->signature != NULL ?
                          strlen(it->signature) : 0) < 0;
        it->duplicate = 1;
    }
    if (bad) {
        rc = hub_error_set(err, HUB_E_NOMEM, "webhook writer: out of memory for a batch of %zu",
                           n);
        goto out;
    }
    for (c = 0; c < INSERT_COLS; c++) {
        vals[c] = arr[c].data;
        lens[c] = (int)arr[c].len;
        fmts[c] = 1;
    }
    rc = hub_db_query_prepared_bin(&wh->db, insert_sql, INSERT_COLS, vals, lens, fmts, &res,
                                   err);
    if (rc < 0)
        goto out;
    for (k = 0; k < (size_t)PQntuples(res); k++) {
        int64_t     iid = strtoll(PQgetvalue(res, (int)k, 0), NULL, 10);
        const char *did = PQgetvalue(res, (int)k, 1);

        for (j = 0; j < n; j++) {
            if (items[j]->duplicate && items[j]->integration_id == iid &&
                strcmp(items[j]->delivery_id, did) == 0) {
                items[j]->duplicate = 0;
                break;
            }
        }
    }
out:
    PQclear(res);
    for (c = 0; c < INSERT_COLS; c++)
        hub_buf_free(&arr[c]);
    return rc;
}

/*
 * Writer thread: the connector's own verify() (SX_SIG_CUSTOM schemes, or extra checks such as
 * a signed timestamp). 0 when the delivery passes; otherwise it->status is set: 401 with the
 * reason (SX_E_STALE: the timestamp is outside the connector's tolerance, a replay), or 500
 * when the check could not run (the platform retries). Nothing is stored for a refusal.
 */
static int
custom_verify(struct hub_webhook *wh, struct wh_item *it)
{
    struct hub_instance *inst = NULL;
    struct hub_call      call;
    struct hub_error     err;
    sx_webhook_req       req;
    sx_http_header      *hdrs = NULL;
    json_object         *hj = NULL;
    PGresult            *res = NULL;
    const char          *p[1];
    char                 ids[24], url[1024];
    int                  rc;

    snprintf(ids, sizeof(ids), "%" PRId64, it->integration_id);
    p[0] = ids;
    if (wh->sync == NULL || hub_db_ensure(&wh->db, &err) < 0 ||
        hub_db_query(&wh->db, "SELECT platform, config::text FROM integrations WHERE id = $1 "
                     "AND deleted_at IS NULL", 1, p, &res, &err) < 0 || PQntuples(res) != 1 ||
        hub_instance_open(hub_sync_runtime(wh->sync), wh->plugins, PQgetvalue(res, 0, 0),
                          it->integration_id, PQgetvalue(res, 0, 1), NULL, &wh->db, &inst,
                          &err) < 0) {
        PQclear(res);
        hub_log(HUB_LOG_ERROR, "webhook", "integration %" PRId64 ": cannot run the connector's "
                "verify(): %s", it->integration_id, wh->sync == NULL ? "no runtime" : err.msg);
        it->status = 500;
        return -1;
    }
    PQclear(res);
    memset(&req, 0, sizeof(req));
    req.hdr.abi_version = SX_ABI_VERSION;
    req.hdr.struct_size = sizeof(req);
    hj = json_tokener_parse(it->headers);
    if (hub_webhook_headers_from_json(hj, &hdrs, &req.n_headers) < 0) {
        it->status = 500;
        rc = -1;
        goto out;
    }
    req.headers = hdrs;
    req.body = (sx_str){ it->body, it->body_len };
    snprintf(url, sizeof(url), "%s/api/webhooks/%s/%" PRId64, wh->public_url, it->platform,
             it->integration_id);
    req.url = sx_cstr(url);
    req.topic = sx_cstr(it->topic);
    hub_call_begin(&call, inst, &wh->db);
    rc = inst->plugin->webhook.verify(&call.cx, &req);
    rc = hub_call_result(&call, rc, "verify()");
    if (rc == SX_OK) {
        rc = 0;
    } else {
        it->status = 401;
        it->stale = rc == SX_E_STALE;
        snprintf(it->why, sizeof(it->why), "%s", it->stale ?
                 "the signed timestamp is outside the accepted window (a replay, or a clock off)"
                 : "signature does not match");
        hub_log(HUB_LOG_INFO, "webhook", "integration %" PRId64 ": delivery refused by "
                "verify(): %s", it->integration_id, call.err.msg);
        rc = -1;
    }
    hub_call_end(&call);
out:
    free(hdrs);
    if (hj != NULL)
        json_object_put(hj);
    hub_instance_close(inst);
    return rc;
}

/* Store items[0..n) in one transaction; on failure, one by one (a bad row fails alone). */
static void
store(struct hub_webhook *wh, struct wh_item **items, size_t n)
{
    struct hub_error err;
    size_t           i;

    if (hub_db_ensure(&wh->db, &err) == 0 && insert_batch(wh, items, n, &err) == 0) {
        atomic_fetch_add(&wh->n_commits, 1);
        for (i = 0; i < n; i++)
            items[i]->status = 200;
        return;
    }
    hub_log(HUB_LOG_WARN, "webhook", "group insert of %zu failed (%s); one by one", n, err.msg);
    for (i = 0; i < n; i++) {
        items[i]->status = 500;
        if (hub_db_ensure(&wh->db, &err) < 0)
            continue;
        if (insert_batch(wh, &items[i], 1, &err) == 0) {
            atomic_fetch_add(&wh->n_commits, 1);
            items[i]->status = 200;
        } else {
            hub_log(HUB_LOG_ERROR, "webhook", "integration %" PRId64 " delivery %s: %s",
                    items[i]->integration_id, items[i]->delivery_id, err.msg);
        }
    }
}

void *
wh_writer_main(void *arg)
{
    struct hub_webhook *wh = arg;
    struct wh_item    **batch;
    struct hub_error    err;

    batch = calloc(wh->batch_max, sizeof(*batch));
    for (;;) {
        struct wh_item *list = NULL, *tail = NULL, *it;
        size_t          n = 0, nstore = 0;
        int64_t         now;
        int             late;

        pthread_mutex_lock(&wh->lock);
        while (wh->q_head == NULL && !wh->stopping)
            pthread_cond_wait(&wh->cond, &wh->lock);
        if (wh->q_head == NULL && wh->stopping) {
            pthread_mutex_unlock(&wh->lock);
            break;
        }
        while (wh->q_head != NULL && n < wh->batch_max) {
            it = wh->q_head;
            wh->q_head = it->next;
            if (wh->q_head == NULL)
                wh->q_tail = NULL;
            wh->q_n--;
            it->next = NULL;
            if (tail != NULL)
                tail->next = it;
            else
                list = it;
            tail = it;
            n++;
        }
        now = hub_clock_ms(CLOCK_MONOTONIC);
        late = wh->stopping && wh->deadline_ms >= 0 && now > wh->deadline_ms;
        if (n >= WH_BUSY_BATCH)
            atomic_store(&wh->busy_until_ms, now + WH_BUSY_HOLD_MS);
        pthread_mutex_unlock(&wh->lock);

        for (it = list; it != NULL; it = it->next) {
            if (late || batch == NULL) {
                it->status = 503;
            } else if (it->kind == ITEM_LOOKUP) {
                it->status = wh_cache_load(wh, it->integration_id, &err) == 0 ? 200 : 500;
                if (it->status != 200)
                    hub_log(HUB_LOG_ERROR, "webhook", "integration %" PRId64 " lookup: %s",
                            it->integration_id, err.msg);
            } else if (it->verify && custom_verify(wh, it) < 0) {
                ;                               /* refused or failed: answered, not stored */
            } else {
                batch[nstore++] = it;
            }
        }
        if (nstore > 0)
            store(wh, batch, nstore);
        finish(wh, list);
    }
    free(batch);
    return NULL;
}
