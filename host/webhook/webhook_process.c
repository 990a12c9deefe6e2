/*
 * The processing half of the webhook pipeline: the "webhook.process" job and replay.
 * See webhook.h for the ordering and retry rules.
 */
#include "webhook/webhook.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/metrics.h"
#include "plugin/hostapi.h"
#include "queue/queue.h"
#include "sync/apply.h"
#include "sync/engine.h"

#define WH_EVENTS_PER_JOB 1000
#define WH_YIELD_STEPS    10            /* a pause is at most 10 x 20 ms, then one batch */
#define WH_YIELD_STEP_MS  20
#define WH_BATCH          200           /* events applied in one transaction */
#define WH_BATCH_STR      "200"

struct changes {
    struct hub_sync_page pages[SX_ENTITY__COUNT];
    int64_t              received_ms;
    struct hub_error     err;
    int                  bad;
};

static int
change_sink(struct hub_call *call, uint32_t entity, uint32_t op, sx_str ext, sx_str json,
            void *arg)
{
    struct changes *c = arg;
    struct hub_buf  b;
    int             rc;

    (void)call;
    if (entity == SX_ENTITY_NONE || entity >= SX_ENTITY__COUNT)
        return SX_E_INVALID;
    if (op == SX_OP_UPSERT) {
        rc = hub_sync_page_add(&c->pages[entity], json.ptr, json.len, &c->err);
    } else {
        char      ts[40];
        time_t    t = (time_t)(c->received_ms / 1000);
        struct tm tm;

        gmtime_r(&t, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
        hub_buf_init(&b, 4096);
        hub_buf_puts(&b, "{\"external_id\":");
        hub_buf_json_str(&b, ext.ptr, ext.len);
        hub_buf_printf(&b, ",\"updated_at\":\"%s.%03dZ\",\"deleted\":true}", ts,
                       (int)(c->received_ms % 1000));
        rc = b.data != NULL ? hub_sync_page_add(&c->pages[entity], b.data, b.len, &c->err)
                            : HUB_E_NOMEM;
        hub_buf_free(&b);
    }
    if (rc < 0) {
        c->bad = 1;
        return SX_E_INVALID;
    }
    return SX_OK;
}

int
hub_webhook_enqueue(struct hub_db *db, int64_t integration_id, int delay_ms,
                    struct hub_error *err)
{
    struct hub_job_spec spec;
    char                payload[64];

    memset(&spec, 0, sizeof(spec));
    snprintf(payload, sizeof(payload), "{\"integration_id\":%" PRId64 "}", integration_id);
    spec.kind = HUB_JOB_WEBHOOK_PROCESS;
    spec.payload = payload;
    spec.integration_id = integration_id;
    spec.delay_ms = delay_ms;
    spec.max_attempts = 20;
    return hub_queue_enqueue(db, &spec, NULL, NULL, err);
}

/* Headers stored as a JSON object -> sx_http_header[] (borrowing the tree's strings). */
int
hub_webhook_headers_from_json(json_object *obj, sx_http_header **out, uint32_t *n)
{
    sx_http_header *h;
    uint32_t        i = 0;

    *out = NULL;
    *n = 0;
    if (obj == NULL || !json_object_is_type(obj, json_type_object))
        return 0;
    h = calloc((size_t)json_object_object_length(obj) + 1, sizeof(*h));
    if (h == NULL)
        return HUB_E_NOMEM;
    json_object_object_foreach(obj, key, val) {
        if (!json_object_is_type(val, json_type_string) || i >= 256)
            continue;
        h[i].name = sx_cstr(key);
        h[i].value = (sx_str){ json_object_get_string(val),
                               (size_t)json_object_get_string_len(val) };
        i++;
    }
    *out = h;
    *n = i;
    return 0;
}

static void
observe(const char *platform, const char *outcome, double age_ms)
{
    char labels[160];

    snprintf(labels, sizeof(labels), "platform=\"%s\",outcome=\"%s\"", platform, outcome);
    hub_metric_inc("simplix_webhook_deliveries_total", labels,
                   "Webhook deliveries and processing outcomes by platform");
    if (strcmp(outcome, "processed") == 0) {
        snprintf(labels, sizeof(labels), "platform=\"%s\"", platform);
        hub_metric_observe_us(hub_metric_get(HUB_METRIC_HISTOGRAM,
                                             "simplix_webhook_processed_seconds", labels,
                                             "Webhook receipt to applied"),
                              (long long)(age_ms * 1000.0));
    }
}

/* Translate one delivery into `c` (canonical changes, added to what is there). 0, or the
 * connector's refusal (HUB_E_REJECTED / HUB_E_INVALID with the reason). */
static int
translate_event(const struct hub_webhook_proc_cfg *cfg, struct hub_db *db,
                struct hub_instance *inst, int64_t integration_id, const char *topic,
                const char *headers, const unsigned char *body, size_t body_len,
                int64_t received_ms, struct changes *c, struct hub_error *err)
{
    struct hub_call call;
    sx_webhook_req  req;
    sx_http_header *hdrs = NULL;
    json_object    *hj;
    char            url[1024];
    int             rc;

    c->received_ms = received_ms;
    hj = json_tokener_parse(headers);
    memset(&req, 0, sizeof(req));
    req.hdr.abi_version = SX_ABI_VERSION;
    req.hdr.struct_size = sizeof(req);
    if (hub_webhook_headers_from_json(hj, &hdrs, &req.n_headers) < 0) {
        if (hj != NULL)
            json_object_put(hj);
        return hub_error_set(err, HUB_E_NOMEM, "webhook: out of memory");
    }
    req.headers = hdrs;
    req.body = (sx_str){ (const char *)body, body_len };
    snprintf(url, sizeof(url), "%s/api/webhooks/%s/%" PRId64, cfg->public_url,
             inst->plugin->id, integration_id);
    req.url = sx_cstr(url);
    req.topic = sx_cstr(topic);

    hub_call_begin(&call, inst, db);
    call.change = change_sink;
    call.sink_arg = c;
    rc = inst->plugin->webhook.translate(&call.cx, &req);
    rc = hub_call_result(&call, rc, "translate()");
    if (rc < 0)
        rc = hub_error_set(err, c->bad ? HUB_E_INVALID : HUB_E_REJECTED, "%s",
                           c->bad ? c->err.msg : call.err.msg);
    hub_call_end(&call);
    free(hdrs);
    if (hj != NULL)
        json_object_put(hj);
    return rc < 0 ? rc : 0;
}

/* Apply every page of `c`. 0; HUB_E_REJECTED when a record was refused; HUB_E_DB. */
static int
apply_changes(struct hub_db *db, int64_t integration_id, int64_t org, struct changes *c,
              struct hub_error *err)
{
    struct hub_sync_counts counts;
    struct hub_buf         details;
    uint32_t               e;
    int                    rc = 0;

    memset(&counts, 0, sizeof(counts));
    hub_buf_init(&details, 64 * 1024);
    for (e = 1; e < SX_ENTITY__COUNT && rc == 0; e++) {
        if (c->pages[e].n == 0)
            continue;
        rc = hub_sync_apply_page(db, integration_id, org, sx_entity_name(e), &c->pages[e],
                                 &counts, &details, err);
    }
    if (rc == 0 && counts.failed > 0)
        rc = hub_error_set(err, HUB_E_REJECTED, "%lld record(s) refused: %s",
                           (long long)counts.failed, details.data != NULL ? details.data : "");
    hub_buf_free(&details);
    return rc;
}

static struct changes *
changes_new(void)
{
    struct changes *c = calloc(1, sizeof(*c));
    uint32_t        e;

    if (c != NULL) {
        for (e = 0; e < SX_ENTITY__COUNT; e++)
            hub_sync_page_init(&c->pages[e]);
    }
    return c;
}

static void
changes_free(struct changes *c)
{
    uint32_t e;

    if (c == NULL)
        return;
    for (e = 0; e < SX_ENTITY__COUNT; e++)
        hub_sync_page_free(&c->pages[e]);
    free(c);
}

/*
 * Several changes of one record in a batch: keep the one the engine would end with when
 * applying them in arrival order (the latest updated_at; on a tie, the later arrival), so a
 * page never holds one external id twice.
 */
static int
page_keep_latest(struct hub_sync_page *pg)
{
    unsigned char *drop;
    size_t         i, j, k = 0;

    if (pg->n < 2)
        return 0;
    drop = calloc(pg->n, 1);
    if (drop == NULL)
        return HUB_E_NOMEM;
    for (i = 0; i < pg->n; i++) {
        for (j = 0; j < pg->n && !drop[i]; j++) {
            if (j != i && strcmp(pg->recs[i].ext, pg->recs[j].ext) == 0 &&
                (pg->recs[j].upd_ms > pg->recs[i].upd_ms ||
                 (pg->recs[j].upd_ms == pg->recs[i].upd_ms && j > i)))
                drop[i] = 1;
        }
    }
    for (i = 0; i < pg->n; i++) {
        if (drop[i]) {
            pg->bytes -= pg->recs[i].json_len < pg->bytes ? pg->recs[i].json_len : pg->bytes;
            free(pg->recs[i].ext);
            free(pg->recs[i].json);
            continue;
        }
        pg->recs[k++] = pg->recs[i];
    }
    pg->n = k;
    free(drop);
    return 0;
}

/* ---- claiming: order per record key, parallelism across keys -------------------------------- */

/*
 * Two advisory locks (see webhook.h):
 *   (WH_CLAIM_CLASS, integration id), session level, held only while a worker claims a batch
 *   of its integration's oldest due events, translates them and takes their keys;
 *   the record lock (hub_sync_lock_records: hash of integration, entity, external id),
 *   transaction level, held from the claim to the commit of the batch that applies the
 *   record. Import pages and sweeps take the same locks when they apply a record.
 * A later batch that touches a record of an earlier batch still in flight waits for it (while
 * holding the claim lock, so the batches after it wait too: order of arrival is kept per key);
 * batches with no record in common are applied at the same time by different workers.
 */
#define WH_CLAIM_CLASS "21335"

struct wh_event {
    char             id[24];
    int              attempts;
    int              delay_ms;
    int              ok;            /* applied */
    int64_t          received_ms;
    struct changes  *c;             /* its canonical changes; NULL when translate() refused */
    struct hub_error err;           /* why it failed */
};

static int
claim_lock(struct hub_db *db, const char *idbuf, int take, struct hub_error *err)
{
    const char *p[1];

    p[0] = idbuf;
    return hub_db_query(db, take ? "SELECT pg_advisory_lock(" WH_CLAIM_CLASS
                                   ", ($1::bigint % 2147483648)::int)"
                                 : "SELECT pg_advisory_unlock(" WH_CLAIM_CLASS
                                   ", ($1::bigint % 2147483648)::int)",
                        1, p, NULL, err);
}

/* Release the claim lock after a failure. It belongs to the session, not the transaction: a
 * session that cannot even say unlock is ended, which releases it (the next query reconnects). */
static void
claim_release(struct hub_db *db, const char *idbuf)
{
    struct hub_error e;

    if (claim_lock(db, idbuf, 0, &e) < 0) {
        hub_log(HUB_LOG_WARN, "webhook", "integration %s: cannot release the claim lock (%s); "
                "reconnecting", idbuf, e.msg);
        hub_db_close(db);
        (void)hub_db_ensure(db, &e);
    }
}

/* Take the record lock of everything the translated events touch (hub_sync_lock_records:
 * ascending order, one statement). 0, or HUB_E_DB / HUB_E_NOMEM. */
static int
lock_keys(struct hub_db *db, int64_t integration_id, const struct wh_event *ev, int n,
          struct hub_error *err)
{
    struct hub_sync_page **pages;
    const char           **names;
    size_t                 m = 0;
    uint32_t               e;
    int                    i, rc;

    if (n <= 0 || n > WH_BATCH)
        return 0;
    pages = calloc((size_t)n * SX_ENTITY__COUNT, sizeof(*pages));
    names = calloc((size_t)n * SX_ENTITY__COUNT, sizeof(*names));
    if (pages == NULL || names == NULL) {
        free(pages);
        free(names);
        return hub_error_set(err, HUB_E_NOMEM, "webhook: out of memory");
    }
    for (i = 0; i < n; i++) {
        for (e = 1; ev[i].c != NULL && e < SX_ENTITY__COUNT; e++) {
            if (ev[i].c->pages[e].n == 0)
                continue;
            pages[m] = &ev[i].c->pages[e];
            names[m++] = sx_entity_name(e);
        }
    }
    rc = hub_sync_lock_records(db, integration_id, names, pages, m, err);
    free(pages);
    free(names);
    return rc;
}

/* A failed attempt: PENDING again after a backoff (with a delayed job to pick it up), or
 * FAILED with its error after the last attempt. In the caller's transaction. */
static int
record_failure(const struct hub_webhook_proc_cfg *cfg, struct hub_db *db, int64_t integration_id,
               struct wh_event *ev, struct hub_error *err)
{
    const char *params[4];
    char        maxbuf[16], delaybuf[16];
    int         rc;

    ev->attempts++;
    ev->delay_ms = ev->attempts >= cfg->max_attempts ? 0
                   : hub_queue_backoff_ms(ev->attempts, cfg->backoff_base_ms,
                                          cfg->backoff_cap_ms);
    snprintf(maxbuf, sizeof(maxbuf), "%d", cfg->max_attempts);
    snprintf(delaybuf, sizeof(delaybuf), "%d", ev->delay_ms);
    params[0] = ev->id;
    params[1] = ev->err.msg[0] != '\0' ? ev->err.msg : "failed";
    params[2] = maxbuf;
    params[3] = delaybuf;
    rc = hub_db_query(db, "UPDATE integration_webhook_events SET attempts = attempts + 1,"
                      " last_error = left($2, 4000),"
                      " status = CASE WHEN attempts + 1 >= $3::int THEN 'FAILED' ELSE 'PENDING' END,"
                      " next_attempt_at = now() + $4::int * interval '1 millisecond'"
                      " WHERE id = $1", 4, params, NULL, err);
    if (rc == 0 && ev->attempts < cfg->max_attempts)
        rc = hub_webhook_enqueue(db, integration_id, ev->delay_ms, err);
    return rc;
}

/* Copy every record of the translated events into one set of pages, several changes of one
 * record reduced to the last. 0, or < 0 (too large, out of memory: go one by one). */
static int
merge_changes(const struct wh_event *ev, int n, struct changes *all, struct hub_error *err)
{
    uint32_t e;
    size_t   k;
    int      i;

    for (i = 0; i < n; i++) {
        for (e = 1; ev[i].c != NULL && e < SX_ENTITY__COUNT; e++) {
            for (k = 0; k < ev[i].c->pages[e].n; k++) {
                if (hub_sync_page_copy_rec(&all->pages[e], &ev[i].c->pages[e].recs[k], err) < 0)
                    return -1;
            }
        }
    }
    for (e = 1; e < SX_ENTITY__COUNT; e++) {
        if (page_keep_latest(&all->pages[e]) < 0)
            return hub_error_set(err, HUB_E_NOMEM, "webhook: out of memory");
    }
    return 0;
}

/*
 * One batch: claim up to WH_BATCH due events of the integration (oldest first), translate
 * them, take their record keys, let the next batch be claimed, then apply them in one
 * transaction that marks them PROCESSED. The fast path applies every record of the batch
 * set-based at once; when the engine refuses one, the batch is applied again event by event
 * (each in a savepoint, in order of arrival, still under the key locks), so the others land
 * and only the refused one is retried. Returns the number of events handled (> 0), 0 when
 * none is due, or < 0 when the database failed (nothing of the batch was kept).
 */
static int
process_batch(const struct hub_webhook_proc_cfg *cfg, struct hub_db *db,
              struct hub_instance *inst, int64_t integration_id, int64_t org,
              const char *platform, uint64_t *processed, uint64_t *retried, uint64_t *failed,
              int64_t *oldest_ms, struct hub_error *err)
{
    PGresult        *res = NULL, *r2 = NULL;
    struct wh_event *ev = NULL;
    struct changes  *all = NULL;
    struct hub_error perr;
    struct hub_buf   ids;
    const char      *params[1];
    char             idbuf[32];
    int              rc, n = 0, i, claimed = 0, batch_ok = 0;

    hub_buf_init(&ids, 16 * 1024);
    snprintf(idbuf, sizeof(idbuf), "%" PRId64, integration_id);
    params[0] = idbuf;
    rc = hub_db_begin(db, err);
    if (rc < 0)
        goto out;
    rc = claim_lock(db, idbuf, 1, err);
    if (rc < 0)
        goto rollback;
    claimed = 1;
    /* Results in binary: each body comes as its bytes, not as hex text twice its size to
     * encode in PostgreSQL and unescape here; the other columns are text. The text id is
     * named ev_id: named id, it would be what ORDER BY id sorts by (an output column's name
     * comes first), "10" before "9", and the sort would read every pending event. */
    rc = hub_db_query_binres(db,
                      "SELECT id::text AS ev_id, topic, headers::text, body,"
                      " ((extract(epoch FROM received_at) * 1000)::bigint)::text, attempts::text"
                      " FROM integration_webhook_events"
                      " WHERE integration_id = $1 AND status = 'PENDING'"
                      "   AND next_attempt_at <= now()"
                      /* From the first pending event (index 0021): the primary key then
                       * gives the order, and the rows processed before are not walked. */
                      "   AND id >= (SELECT min(id) FROM integration_webhook_events"
                      "               WHERE integration_id = $1 AND status = 'PENDING')"
                      " ORDER BY id LIMIT " WH_BATCH_STR " FOR UPDATE SKIP LOCKED",
                      1, params, &res, err);
    if (rc < 0)
        goto rollback;
    n = PQntuples(res);
    if (n == 0) {
        rc = claim_lock(db, idbuf, 0, err);
        if (rc < 0)
            goto rollback;
        claimed = 0;
        rc = hub_db_commit(db, err);
        goto out;
    }
    ev = calloc((size_t)n, sizeof(*ev));
    if (ev == NULL) {
        rc = hub_error_set(err, HUB_E_NOMEM, "webhook: out of memory");
        goto rollback;
    }
    for (i = 0; i < n; i++) {
        /* libpq ends every value, binary ones too, with a NUL: the text columns read as C
         * strings. */
        snprintf(ev[i].id, sizeof(ev[i].id), "%s", PQgetvalue(res, i, 0));
        ev[i].received_ms = strtoll(PQgetvalue(res, i, 4), NULL, 10);
        if (i == 0)
            *oldest_ms = ev[i].received_ms;      /* the batch is in id order: its oldest */
        ev[i].attempts = atoi(PQgetvalue(res, i, 5));
        ev[i].c = changes_new();
        if (ev[i].c == NULL) {
            rc = hub_error_set(err, HUB_E_NOMEM, "webhook: out of memory");
            goto rollback;
        }
        rc = translate_event(cfg, db, inst, integration_id, PQgetvalue(res, i, 1),
                             PQgetvalue(res, i, 2), (const unsigned char *)PQgetvalue(res, i, 3),
                             (size_t)PQgetlength(res, i, 3), ev[i].received_ms, ev[i].c,
                             &ev[i].err);
        if (rc < 0) {
            changes_free(ev[i].c);
            ev[i].c = NULL;
        }
    }
    rc = lock_keys(db, integration_id, ev, n, err);
    if (rc < 0)
        goto rollback;
    rc = claim_lock(db, idbuf, 0, err);       /* the next batch may be claimed now */
    if (rc < 0)
        goto rollback;
    claimed = 0;

    all = changes_new();
    memset(&perr, 0, sizeof(perr));
    if (all != NULL && n > 1 && merge_changes(ev, n, all, &perr) == 0) {
        rc = hub_db_exec(db, "SAVEPOINT wh_batch", err);
        if (rc < 0)
            goto rollback;
        rc = apply_changes(db, integration_id, org, all, &perr);
        if (rc == HUB_E_DB) {
            *err = perr;
            goto rollback;
        }
        batch_ok = rc == 0;
        if (!batch_ok && (rc = hub_db_exec(db, "ROLLBACK TO SAVEPOINT wh_batch", err)) < 0)
            goto rollback;
    }
    for (i = 0; i < n; i++) {
        if (ev[i].c == NULL)
            continue;
        if (batch_ok) {
            ev[i].ok = 1;
            continue;
        }
        /* One by one: the others still land, the refused one retries alone. */
        rc = hub_db_exec(db, "SAVEPOINT wh_event", err);
        if (rc < 0)
            goto rollback;
        rc = apply_changes(db, integration_id, org, ev[i].c, &ev[i].err);
        if (rc == HUB_E_DB) {
            *err = ev[i].err;
            goto rollback;
        }
        ev[i].ok = rc == 0;
        rc = hub_db_exec(db, ev[i].ok ? "RELEASE SAVEPOINT wh_event"
                                      : "ROLLBACK TO SAVEPOINT wh_event", err);
        if (rc < 0)
            goto rollback;
    }
    hub_buf_puts(&ids, "{");
    for (i = 0; i < n; i++) {
        if (ev[i].ok) {
            hub_buf_printf(&ids, "%s%s", ids.len > 1 ? "," : "", ev[i].id);
        } else {
            rc = record_failure(cfg, db, integration_id, &ev[i], err);
            if (rc < 0)
                goto rollback;
        }
    }
    if (hub_buf_puts(&ids, "}") < 0) {
        rc = hub_error_set(err, HUB_E_NOMEM, "webhook: out of memory");
        goto rollback;
    }
    params[0] = ids.data;
    rc = hub_db_query(db, "UPDATE integration_webhook_events SET status = 'PROCESSED',"
                      " processed_at = clock_timestamp(), attempts = attempts + 1, last_error = NULL"
                      " WHERE id = ANY($1::bigint[])"
                      " RETURNING extract(epoch FROM (clock_timestamp() - received_at)) * 1000",
                      1, params, &r2, err);
    if (rc < 0)
        goto rollback;
    rc = hub_db_commit(db, err);
    if (rc < 0)
        goto out;
    hub_sync_stats_tick(db, (size_t)PQntuples(r2));
    for (i = 0; i < PQntuples(r2); i++)
        observe(platform, "processed", atof(PQgetvalue(r2, i, 0)));
    for (i = 0; i < n; i++) {
        if (ev[i].ok) {
            (*processed)++;
        } else if (ev[i].attempts < cfg->max_attempts) {
            (*retried)++;
            observe(platform, "retried", 0);
            hub_log(HUB_LOG_WARN, "webhook", "event %s of integration %" PRId64 " attempt %d "
                    "failed, retry in %d ms: %s", ev[i].id, integration_id, ev[i].attempts,
                    ev[i].delay_ms, ev[i].err.msg);
        } else {
            (*failed)++;
            observe(platform, "failed", 0);
            hub_log(HUB_LOG_ERROR, "webhook", "event %s of integration %" PRId64 " FAILED "
                    "after %d attempts: %s", ev[i].id, integration_id, ev[i].attempts,
                    ev[i].err.msg);
        }
    }
    rc = n;
    goto out;
rollback:
    hub_db_rollback(db);
    if (claimed)                /* the claim lock is the session's: it outlives the rollback */
        claim_release(db, idbuf);
out:
    for (i = 0; ev != NULL && i < n; i++)
        changes_free(ev[i].c);
    free(ev);
    changes_free(all);
    hub_buf_free(&ids);
    PQclear(res);
    PQclear(r2);
    return rc;
}

/* Whether processing should pause now: this hub is taking a burst of deliveries, and the
 * processing is less than yield_lag_ms behind (oldest_ms: the wall-clock receipt of the
 * oldest event of its last batch, 0 before the first). */
static int
yielding(const struct hub_webhook_proc_cfg *cfg, int64_t oldest_ms)
{
    if (cfg->yield_lag_ms <= 0 || cfg->busy_until_ms == NULL ||
        atomic_load(cfg->busy_until_ms) <= hub_clock_ms(CLOCK_MONOTONIC))
        return 0;
    return oldest_ms == 0 || hub_clock_ms(CLOCK_REALTIME) - oldest_ms < cfg->yield_lag_ms;
}

int
hub_webhook_process_job(const struct hub_webhook_proc_cfg *cfg, struct hub_db *db,
                        int64_t integration_id, uint64_t *processed, uint64_t *retried,
                        uint64_t *failed, struct hub_error *err)
{
    struct hub_instance *inst = NULL;
    PGresult            *res = NULL;
    const char          *params[1];
    char                 idbuf[32], platform[64];
    int64_t              org, oldest_ms = 0;
    int                  rc, i;

    snprintf(idbuf, sizeof(idbuf), "%" PRId64, integration_id);
    params[0] = idbuf;
    rc = hub_db_query(db, "SELECT organization_id, platform, config::text FROM integrations"
                      " WHERE id = $1 AND deleted_at IS NULL", 1, params, &res, err);
    if (rc < 0)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return 0;      /* gone: its events went with it (ON DELETE CASCADE) or stay for replay */
    }
    org = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    snprintf(platform, sizeof(platform), "%s", PQgetvalue(res, 0, 1));
    rc = hub_instance_open(hub_sync_runtime(cfg->sync), cfg->plugins, platform, integration_id,
                           PQgetvalue(res, 0, 2), NULL, db, &inst, err);
    PQclear(res);
    if (rc < 0)
        return rc;
    if (!inst->plugin->has_webhook || inst->plugin->webhook.translate == NULL) {
        hub_instance_close(inst);
        return hub_error_set(err, HUB_E_UNSUPPORTED, "%s: no webhook translate()", platform);
    }
    for (i = 0; i < WH_EVENTS_PER_JOB;) {
        for (int w = 0; w < WH_YIELD_STEPS && yielding(cfg, oldest_ms); w++) {
            hub_metric_inc("simplix_webhook_processing_yields_total", "",
                           "Pauses of webhook processing (20 ms each) during bursts of deliveries");
            usleep(WH_YIELD_STEP_MS * 1000);
        }
        rc = process_batch(cfg, db, inst, integration_id, org, platform, processed, retried,
                           failed, &oldest_ms, err);
        if (rc <= 0)
            break;
        i += rc;
    }
    hub_instance_close(inst);
    if (rc > 0)                    /* more to do: let another run continue */
        rc = hub_webhook_enqueue(db, integration_id, 0, err);
    return rc;
}

int
hub_webhook_backlog(struct hub_db *db, int64_t *pending, int64_t *oldest_s,
                    struct hub_error *err)
{
    PGresult *res = NULL;
    int       rc;

    rc = hub_db_query(db, "SELECT count(*), coalesce(extract(epoch FROM now() - "
                      "min(received_at))::bigint, 0) FROM integration_webhook_events "
                      "WHERE status = 'PENDING'", 0, NULL, &res, err);
    if (rc == 0) {
        *pending = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        *oldest_s = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    }
    PQclear(res);
    return rc;
}

int
hub_webhook_replay(struct hub_db *db, const struct hub_webhook_filter *f, int64_t *out_n,
                   struct hub_error *err)
{
    PGresult   *res = NULL;
    const char *params[5];
    char        ev[32], in[32], org[32];
    int64_t     n = 0;
    int         rc, own = 0, i;

    if (out_n != NULL)
        *out_n = 0;
    if (f == NULL || (f->event_id <= 0 && f->integration_id <= 0 && f->organization_id <= 0 &&
                      f->since == NULL && f->until == NULL))
        return hub_error_set(err, HUB_E_INVALID, "webhook replay: give at least one condition");
    snprintf(ev, sizeof(ev), "%" PRId64, f->event_id);
    snprintf(in, sizeof(in), "%" PRId64, f->integration_id);
    snprintf(org, sizeof(org), "%" PRId64, f->organization_id);
    params[0] = f->event_id > 0 ? ev : NULL;
    params[1] = f->integration_id > 0 ? in : NULL;
    params[2] = f->organization_id > 0 ? org : NULL;
    params[3] = f->since;
    params[4] = f->until;
    if (!db->in_tx) {
        rc = hub_db_begin(db, err);
        if (rc < 0)
            return rc;
        own = 1;
    }
    rc = hub_db_query(db,
                      "WITH r AS (UPDATE integration_webhook_events e SET status = 'PENDING',"
                      "   attempts = 0, next_attempt_at = now(), processed_at = NULL"
                      " WHERE ($1::bigint IS NULL OR e.id = $1::bigint)"
                      "   AND ($2::bigint IS NULL OR e.integration_id = $2::bigint)"
                      "   AND ($3::bigint IS NULL OR e.integration_id IN"
                      "        (SELECT id FROM integrations WHERE organization_id = $3::bigint))"
                      "   AND ($4::timestamptz IS NULL OR e.received_at >= $4::timestamptz)"
                      "   AND ($5::timestamptz IS NULL OR e.received_at < $5::timestamptz)"
                      " RETURNING e.integration_id)"
                      " SELECT integration_id, count(*) FROM r GROUP BY 1",
                      5, params, &res, err);
    if (rc < 0)
        goto fail;
    for (i = 0; i < PQntuples(res); i++) {
        n += strtoll(PQgetvalue(res, i, 1), NULL, 10);
        rc = hub_webhook_enqueue(db, strtoll(PQgetvalue(res, i, 0), NULL, 10), 0, err);
        if (rc < 0)
            goto fail;
    }
    PQclear(res);
    res = NULL;
    if (own) {
        rc = hub_db_commit(db, err);
        if (rc < 0)
            return rc;
    }
    if (out_n != NULL)
        *out_n = n;
    return 0;
fail:
    PQclear(res);
    if (own)
        hub_db_rollback(db);
    return rc;
}
