/*
 * The sync engine's shared parts: the integration as a run sees it (its settings), the
 * connector-instance cache, the start of every sync job, the webhook.subscribe job, the
 * scheduler's pass and the registration of the job handlers. The import job is in import.c,
 * the export in export.c, the deletion sweep in sweep.c, the page's apply in page.c and
 * apply.c (docs/SYNC.md).
 */
#include "sync/engine_internal.h"
#include "core/buf.h"
#include "core/log.h"
#include "net/ratelimit_pg.h"
#include "oauth/oauth.h"
#include "queue/queue.h"
#include "queue/worker.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void
hub_sync_integ_free(struct integ *in)
{
    free(in->config);
    free(in->settings);
    in->config = NULL;
    in->settings = NULL;
}

int
hub_sync_integ_load(struct hub_db *db, int64_t id, struct integ *out, struct hub_error *err)
{
    char        ids[24];
    const char *p[1] = { ids };
    PGresult   *res = NULL;
    int         rc;

    memset(out, 0, sizeof(*out));
    snprintf(ids, sizeof(ids), "%" PRId64, id);
    rc = hub_db_query(db, "SELECT organization_id, platform, status, updated_at::text, "
                      "config::text, sync_settings::text, coalesce(sx_bool(sync_settings->"
                      "'reconcile_full'), sx_platform_default(platform, 'reconcile_full') = 1, "
                      "false) FROM integrations "
                      "WHERE id = $1 AND deleted_at IS NULL", 1, p, &res, err);
    if (rc < 0)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return hub_error_set(err, HUB_E_NOT_FOUND, "integration %" PRId64 " does not exist", id);
    }
    out->id = id;
    out->org = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    snprintf(out->platform, sizeof(out->platform), "%s", PQgetvalue(res, 0, 1));
    snprintf(out->status, sizeof(out->status), "%s", PQgetvalue(res, 0, 2));
    snprintf(out->version, sizeof(out->version), "%s", PQgetvalue(res, 0, 3));
    out->config = strdup(PQgetvalue(res, 0, 4));
    out->settings = strdup(PQgetvalue(res, 0, 5));
    out->reconcile_full = strcmp(PQgetvalue(res, 0, 6), "t") == 0;
    PQclear(res);
    if (out->config == NULL || out->settings == NULL) {
        hub_sync_integ_free(out);
        return hub_error_set(err, HUB_E_NOMEM, "out of memory");
    }
    return 0;
}

/* An integer setting from sync_settings, or `dflt`. */
int64_t
hub_sync_setting_int(const struct integ *in, const char *key, int64_t dflt, int64_t min,
                     int64_t max)
{
    json_object *root = json_tokener_parse(in->settings), *v;
    int64_t      val = dflt;

    if (root != NULL && json_object_object_get_ex(root, key, &v) &&
        json_object_is_type(v, json_type_int)) {
        val = json_object_get_int64(v);
        if (val < min || val > max)
            val = dflt;
    }
    json_object_put(root);
    return val;
}

/* A boolean setting from sync_settings, or `dflt`. */
int
hub_sync_setting_bool(const struct integ *in, const char *key, int dflt)
{
    json_object *root = json_tokener_parse(in->settings), *v;
    int          val = dflt;

    if (root != NULL && json_object_object_get_ex(root, key, &v) &&
        json_object_is_type(v, json_type_boolean))
        val = json_object_get_boolean(v);
    json_object_put(root);
    return val;
}

/* 1 when sync_settings.directions[entity] lists `direction`. */
int
hub_sync_setting_direction(const struct integ *in, const char *entity, const char *direction)
{
    json_object *root = json_tokener_parse(in->settings), *d, *list;
    size_t       i;
    int          yes = 0;

    if (root != NULL && json_object_object_get_ex(root, "directions", &d) &&
        json_object_object_get_ex(d, entity, &list) &&
        json_object_is_type(list, json_type_array)) {
        for (i = 0; i < json_object_array_length(list); i++) {
            const char *s = json_object_get_string(json_object_array_get_idx(list, i));

            if (s != NULL && strcmp(s, direction) == 0)
                yes = 1;
        }
    }
    json_object_put(root);
    return yes;
}

/* ---- the instance cache ------------------------------------------------------------------------ */

struct hub_instance *
hub_sync_instance_get(struct hub_sync *s, struct hub_db *db, const struct integ *in, struct hub_error *err)
{
    struct cached       *c;
    struct hub_instance *inst = NULL;
    int                  rc;

    pthread_mutex_lock(&s->lock);
    for (c = s->cache; c != NULL; c = c->next) {
        /* A connector the marketplace replaced (upgrade, rollback) is retired: the runs in
         * flight finish on it, the next one opens the current version. */
        if (c->integration_id == in->id && !c->stale && strcmp(c->version, in->version) == 0 &&
            !atomic_load(&c->inst->plugin->retired)) {
            c->refs++;
            pthread_mutex_unlock(&s->lock);
            return c->inst;
        }
        if (c->integration_id == in->id)
            c->stale = 1;                  /* config or connector changed: reopen */
    }
    pthread_mutex_unlock(&s->lock);

    rc = hub_instance_open(&s->rt, s->opts.plugins, in->platform, in->id, in->config, NULL, db,
                           &inst, err);
    if (rc < 0)
        return NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        hub_instance_close(inst);
        hub_error_set(err, HUB_E_NOMEM, "out of memory");
        return NULL;
    }
    c->integration_id = in->id;
    snprintf(c->version, sizeof(c->version), "%s", in->version);
    c->inst = inst;
    c->refs = 1;
    pthread_mutex_lock(&s->lock);
    c->next = s->cache;
    s->cache = c;
    pthread_mutex_unlock(&s->lock);
    return inst;
}

void
hub_sync_instance_put(struct hub_sync *s, struct hub_instance *inst)
{
    struct cached **pp, *c;

    pthread_mutex_lock(&s->lock);
    for (pp = &s->cache; (c = *pp) != NULL; pp = &c->next) {
        if (c->inst != inst)
            continue;
        c->refs--;
        if (c->refs == 0 && c->stale) {
            *pp = c->next;
            pthread_mutex_unlock(&s->lock);
            hub_instance_close(c->inst);
            free(c);
            return;
        }
        break;
    }
    pthread_mutex_unlock(&s->lock);
}

struct hub_runtime *
hub_sync_runtime(struct hub_sync *s)
{
    return &s->rt;
}

/* OAuth connectors: refresh the token first when it expires soon (one refresh per integration
 * across every worker and hub; a dead grant puts the integration in ERROR). */
int
hub_sync_fresh_token(struct hub_sync *s, struct hub_db *db, struct hub_instance *inst,
            struct hub_error *err)
{
    if (inst->plugin->desc.auth_kind != SX_AUTH_OAUTH2_CODE)
        return 0;
    return hub_oauth_ensure_fresh(db, &s->rt, inst, -1, err);
}

int
hub_sync_job_begin(struct hub_sync *s, struct hub_job_run *run, int64_t integration_id,
                   struct integ *in, struct hub_instance **inst, struct hub_error *err)
{
    int rc;

    *inst = NULL;
    rc = hub_sync_integ_load(run->db, integration_id, in, err);
    if (rc < 0)
        return rc == HUB_E_NOT_FOUND ? HUB_E_INVALID : rc;
    if (strcmp(in->status, "ACTIVE") != 0) {
        run->result = "{\"skipped\":\"integration is not ACTIVE\"}";
        hub_sync_integ_free(in);
        return 1;
    }
    *inst = hub_sync_instance_get(s, run->db, in, err);
    if (*inst == NULL) {
        hub_sync_integ_free(in);
        return HUB_E_TRANSIENT;
    }
    rc = hub_sync_fresh_token(s, run->db, *inst, err);
    if (rc < 0) {
        hub_sync_instance_put(s, *inst);
        *inst = NULL;
        hub_sync_integ_free(in);
        return rc == HUB_E_AUTH ? HUB_E_REJECTED : rc;    /* a dead grant waits for a human */
    }
    return 0;
}

void
hub_sync_forget(struct hub_sync *s, int64_t integration_id)
{
    struct cached **pp = &s->cache, *c;

    pthread_mutex_lock(&s->lock);
    while ((c = *pp) != NULL) {
        if (integration_id == 0 || c->integration_id == integration_id)
            c->stale = 1;
        if (c->stale && c->refs == 0) {
            *pp = c->next;
            hub_instance_close(c->inst);
            free(c);
            continue;
        }
        pp = &c->next;
    }
    pthread_mutex_unlock(&s->lock);
}

/* ---- webhook subscriptions --------------------------------------------------------------------- */

/*
 * webhook.subscribe {"integration_id": N}: (re)register the integration's webhook subscriptions
 * at <public_url>/api/webhooks/<platform>/<id> with the connector's subscribe(), which is
 * idempotent. Run when an integration becomes ACTIVE and every subscribe_interval_s after, it
 * is the subscription monitor: what a platform removed (Shopify deletes a subscription after 8
 * failed deliveries) or disabled is put back.
 */
static int
job_subscribe(const struct hub_job *job, struct hub_job_run *run, void *ctx,
              struct hub_error *err)
{
    struct hub_sync     *s = ctx;
    struct integ         in;
    struct hub_instance *inst;
    struct hub_call      call;
    json_object         *pl = json_tokener_parse(job->payload), *v;
    char                *url;
    int64_t              id = 0;
    int                  rc;

    if (pl != NULL && json_object_object_get_ex(pl, "integration_id", &v))
        id = json_object_get_int64(v);
    json_object_put(pl);
    if (id <= 0)
        return hub_error_set(err, HUB_E_INVALID, "webhook.subscribe payload needs integration_id");
    if (s->opts.public_url == NULL || s->opts.public_url[0] == '\0') {
        run->result = "{\"skipped\":\"no public URL\"}";
        return 0;
    }
    rc = hub_sync_integ_load(run->db, id, &in, err);
    if (rc < 0)
        return rc == HUB_E_NOT_FOUND ? HUB_E_INVALID : rc;
    if (strcmp(in.status, "ACTIVE") != 0) {
        hub_sync_integ_free(&in);
        run->result = "{\"skipped\":\"integration is not ACTIVE\"}";
        return 0;
    }
    inst = hub_sync_instance_get(s, run->db, &in, err);
    if (inst == NULL) {
        hub_sync_integ_free(&in);
        return HUB_E_TRANSIENT;
    }
    if (inst->plugin->desc.webhook == NULL || inst->plugin->desc.webhook->subscribe == NULL) {
        hub_sync_instance_put(s, inst);
        hub_sync_integ_free(&in);
        run->result = "{\"skipped\":\"the connector has no webhook subscriptions\"}";
        return 0;
    }
    rc = hub_sync_fresh_token(s, run->db, inst, err);
    url = rc == 0 ? hub_arena_printf(run->arena, "%s/api/webhooks/%s/%" PRId64,
                                     s->opts.public_url, in.platform, in.id) : NULL;
    if (rc == 0 && url == NULL)
        rc = hub_error_set(err, HUB_E_NOMEM, "out of memory");
    if (rc == 0) {
        hub_call_begin(&call, inst, run->db);
        rc = inst->plugin->desc.webhook->subscribe(&call.cx, sx_cstr(url));
        rc = hub_call_result(&call, rc, "webhook subscribe()");
        if (rc < 0)
            hub_error_set(err, hub_sync_retryable(rc) ? HUB_E_TRANSIENT : HUB_E_REJECTED,
                          "integration %" PRId64 ": %s", in.id, call.err.msg);
        hub_call_end(&call);
        if (rc == 0)
            hub_log_info("webhook", "integration %" PRId64 ": subscriptions in place for %s",
                         in.id, url);
        else
            rc = err->code;
    }
    hub_sync_instance_put(s, inst);
    hub_sync_integ_free(&in);
    return rc;
}

/* ---- enqueue and schedule -------------------------------------------------------------------- */

int
hub_sync_enqueue_import(struct hub_db *db, int64_t integration_id, const char *entity,
                        const char *mode, int64_t *out_job, struct hub_error *err)
{
    struct hub_job_spec spec;
    char                payload[160], key[96];

    if (mode != NULL && strcmp(mode, "sweep") == 0)
        return hub_sync_enqueue_sweep(db, integration_id, entity, out_job, NULL, err);
    if (!hub_sync_entity_ok(entity) ||
        (strcmp(mode, "full") != 0 && strcmp(mode, "incremental") != 0 &&
         strcmp(mode, "reconcile") != 0))
        return hub_error_set(err, HUB_E_INVALID, "entity must be customer, product or order and "
                             "mode full, incremental, reconcile or sweep");
    snprintf(payload, sizeof(payload), "{\"integration_id\":%" PRId64 ",\"entity\":\"%s\","
             "\"mode\":\"%s\"}", integration_id, entity, mode);
    snprintf(key, sizeof(key), "sync:import:%" PRId64 ":%s", integration_id, entity);
    memset(&spec, 0, sizeof(spec));
    spec.kind = HUB_JOB_SYNC_IMPORT;
    spec.payload = payload;
    spec.dedupe_key = key;
    spec.integration_id = integration_id;
    spec.max_attempts = 8;
    return hub_queue_enqueue(db, &spec, out_job, NULL, err);
}

int
hub_sync_enqueue_export(struct hub_db *db, int64_t integration_id, int64_t *out_job,
                        struct hub_error *err)
{
    struct hub_job_spec spec;
    char                payload[64], key[64];

    snprintf(payload, sizeof(payload), "{\"integration_id\":%" PRId64 "}", integration_id);
    snprintf(key, sizeof(key), "sync:export:%" PRId64, integration_id);
    memset(&spec, 0, sizeof(spec));
    spec.kind = HUB_JOB_SYNC_EXPORT;
    spec.payload = payload;
    spec.dedupe_key = key;
    spec.integration_id = integration_id;
    spec.max_attempts = 8;
    return hub_queue_enqueue(db, &spec, out_job, NULL, err);
}

/* Every (integration, entity) its sync_settings.entities lists, for the scheduler's passes. */
#define SQL_LISTED_ENTITIES \
    "SELECT i.id, e.entity FROM integrations i " \
    "CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN " \
    "  jsonb_typeof(i.sync_settings->'entities') = 'array' THEN " \
    "  i.sync_settings->'entities' ELSE '[]' END) e(entity) "

int
hub_sync_schedule(struct hub_db *db, int *out_enqueued, struct hub_error *err)
{
    PGresult *res = NULL;
    int       rc, i, n = 0;

    if (out_enqueued != NULL)
        *out_enqueued = 0;
    /* Due imports: each listed entity whose last run started longer ago than the interval. */
    rc = hub_db_query(db,
                      SQL_LISTED_ENTITIES
                      "LEFT JOIN sync_state s ON s.integration_id = i.id AND s.entity = e.entity "
                      "  AND s.direction = 'import' "
                      "WHERE i.status = 'ACTIVE' AND i.deleted_at IS NULL "
                      "  AND e.entity IN ('customer', 'product', 'order') "
                      "  AND s.run_log_id IS NULL AND (s.run_started_at IS NULL OR "
                      "  s.run_started_at < now() - make_interval(secs => greatest(10, "
                      "  coalesce(sx_int(i.sync_settings->'interval_s'), "
                      "  sx_platform_default(i.platform, 'interval_s'))::int))) "
                      "LIMIT 1000", 0, NULL, &res, err);
    if (rc < 0)
        return rc;
    for (i = 0; i < PQntuples(res); i++) {
        int deduped = 0;
        struct hub_job_spec spec;
        char payload[160], key[96];
        int64_t id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        const char *entity = PQgetvalue(res, i, 1);

        snprintf(payload, sizeof(payload), "{\"integration_id\":%" PRId64 ",\"entity\":\"%s\","
                 "\"mode\":\"incremental\"}", id, entity);
        snprintf(key, sizeof(key), "sync:import:%" PRId64 ":%s", id, entity);
        memset(&spec, 0, sizeof(spec));
        spec.kind = HUB_JOB_SYNC_IMPORT;
        spec.payload = payload;
        spec.dedupe_key = key;
        spec.integration_id = id;
        spec.max_attempts = 8;
        if (hub_queue_enqueue(db, &spec, NULL, &deduped, err) == 0 && !deduped)
            n++;
    }
    PQclear(res);
    res = NULL;
    /* Reconciliations: every reconcile_interval_s (default 3600, PrestaShop 6 h), each listed
     * entity that has completed a run is read again over reconcile_window_s, or whole with
     * reconcile_full: the safety net under webhooks and under updated_at filters. */
    rc = hub_db_query(db,
                      SQL_LISTED_ENTITIES
                      "JOIN sync_state s ON s.integration_id = i.id AND s.entity = e.entity "
                      "  AND s.direction = 'import' AND s.watermark IS NOT NULL "
                      "  AND s.run_log_id IS NULL "
                      "WHERE i.status = 'ACTIVE' AND i.deleted_at IS NULL "
                      "  AND e.entity IN ('customer', 'product', 'order') "
                      "  AND NOT EXISTS (SELECT 1 FROM integration_sync_logs l WHERE "
                      "    l.integration_id = i.id AND l.entity = e.entity AND l.type = 'reconcile' "
                      "    AND l.started_at > now() - make_interval(secs => greatest(60, "
                      "    coalesce(sx_int(i.sync_settings->'reconcile_interval_s'), "
                      "    sx_platform_default(i.platform, 'reconcile_interval_s'))::int))) "
                      "  AND i.created_at < now() - make_interval(secs => greatest(60, "
                      "    coalesce(sx_int(i.sync_settings->'reconcile_interval_s'), "
                      "    sx_platform_default(i.platform, 'reconcile_interval_s'))::int)) "
                      "LIMIT 1000", 0, NULL, &res, err);
    if (rc < 0)
        return rc;
    for (i = 0; i < PQntuples(res); i++) {
        if (hub_sync_enqueue_import(db, strtoll(PQgetvalue(res, i, 0), NULL, 10),
                                    PQgetvalue(res, i, 1), "reconcile", NULL, err) == 0)
            n++;
    }
    PQclear(res);
    res = NULL;
    /* Deletion sweeps: every sweep_interval_s (sync_settings, else the platform's default;
     * none when both are absent), each listed entity that has completed an import. */
    rc = hub_db_query(db,
                      SQL_LISTED_ENTITIES
                      "JOIN sync_state s ON s.integration_id = i.id AND s.entity = e.entity "
                      "  AND s.direction = 'import' AND s.watermark IS NOT NULL "
                      "WHERE i.status = 'ACTIVE' AND i.deleted_at IS NULL "
                      "  AND e.entity IN ('customer', 'product', 'order') "
                      "  AND coalesce(sx_int(i.sync_settings->'sweep_interval_s'), "
                      "    sx_platform_default(i.platform, 'sweep_interval_s')) > 0 "
                      "  AND NOT EXISTS (SELECT 1 FROM integration_sync_logs l WHERE "
                      "    l.integration_id = i.id AND l.entity = e.entity AND l.type = 'sweep' "
                      "    AND l.started_at > now() - make_interval(secs => greatest(60, "
                      "    coalesce(sx_int(i.sync_settings->'sweep_interval_s'), "
                      "    sx_platform_default(i.platform, 'sweep_interval_s'))::int))) "
                      "LIMIT 1000", 0, NULL, &res, err);
    if (rc < 0)
        return rc;
    for (i = 0; i < PQntuples(res); i++) {
        int deduped = 0;

        if (hub_sync_enqueue_sweep(db, strtoll(PQgetvalue(res, i, 0), NULL, 10),
                                   PQgetvalue(res, i, 1), NULL, &deduped, err) == 0 && !deduped)
            n++;
    }
    PQclear(res);
    res = NULL;
    /* Subscriptions: ACTIVE integrations without a subscribe job in subscribe_interval_s
     * (default 1800): a new integration gets its webhooks within seconds of connecting. */
    rc = hub_db_query(db,
                      "SELECT i.id FROM integrations i WHERE i.status = 'ACTIVE' "
                      "AND i.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM jobs j WHERE "
                      "  j.kind = 'webhook.subscribe' AND j.integration_id = i.id AND "
                      "  (j.status IN ('queued', 'running', 'failed') OR j.created_at > now() - "
                      "  make_interval(secs => greatest(60, coalesce(sx_int("
                      "  i.sync_settings->'subscribe_interval_s'), "
                      "  sx_platform_default(i.platform, 'subscribe_interval_s'))::int)))) "
                      "LIMIT 1000",
                      0, NULL, &res, err);
    if (rc < 0)
        return rc;
    for (i = 0; i < PQntuples(res); i++) {
        struct hub_job_spec spec;
        char                payload[64], key[64];
        int64_t             id = strtoll(PQgetvalue(res, i, 0), NULL, 10);

        snprintf(payload, sizeof(payload), "{\"integration_id\":%" PRId64 "}", id);
        snprintf(key, sizeof(key), "webhook:subscribe:%" PRId64, id);
        memset(&spec, 0, sizeof(spec));
        spec.kind = HUB_JOB_WEBHOOK_SUBSCRIBE;
        spec.payload = payload;
        spec.dedupe_key = key;
        spec.integration_id = id;
        spec.max_attempts = 5;
        if (hub_queue_enqueue(db, &spec, NULL, NULL, err) == 0)
            n++;
    }
    PQclear(res);
    res = NULL;
    /* Exports: integrations that export something and have outbox rows past their mark. */
    rc = hub_db_query(db,
                      "SELECT i.id FROM integrations i "
                      "LEFT JOIN sync_state s ON s.integration_id = i.id AND s.entity = '*' "
                      "  AND s.direction = 'export' "
                      "WHERE i.status = 'ACTIVE' AND i.deleted_at IS NULL "
                      "  AND i.sync_settings::text LIKE '%\"export\"%' "
                      "  AND EXISTS (SELECT 1 FROM outbox o WHERE o.organization_id = "
                      "    i.organization_id AND o.id > coalesce(s.last_outbox_id, 0) "
                      "    AND coalesce(o.origin_integration_id, 0) <> i.id) "
                      "LIMIT 1000", 0, NULL, &res, err);
    if (rc < 0)
        return rc;
    for (i = 0; i < PQntuples(res); i++) {
        int64_t job = 0;

        if (hub_sync_enqueue_export(db, strtoll(PQgetvalue(res, i, 0), NULL, 10), &job, err) == 0)
            n++;
    }
    PQclear(res);
    if (out_enqueued != NULL)
        *out_enqueued = n;
    return 0;
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

int
hub_sync_new(const struct hub_sync_opts *opts, struct hub_sync **out, struct hub_error *err)
{
    struct hub_sync *s = calloc(1, sizeof(*s));
    int              rc;

    *out = NULL;
    if (s == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "out of memory");
    s->opts = *opts;
    if (s->opts.page_size == 0)
        s->opts.page_size = 250;
    if (s->opts.overlap_s == 0)
        s->opts.overlap_s = 300;
    pthread_mutex_init(&s->lock, NULL);
    rc = hub_http_client_new(NULL, &s->rt.http, err);
    if (rc == 0 && opts->conninfo != NULL)
        rc = hub_rate_pg_new(opts->conninfo, &s->rate_pg, err);
    if (rc == 0)
        rc = hub_rate_registry_new(hub_clock_wall(), s->rate_pg ? hub_rate_pg_store(s->rate_pg)
                                   : NULL, &s->rt.rates, err);
    if (rc < 0) {
        hub_sync_free(s);
        return rc;
    }
    s->rt.keys = opts->keys;
    s->rt.now_ms = opts->now_ms;
    s->rt.now_ctx = opts->now_ctx;
    *out = s;
    return 0;
}

void
hub_sync_free(struct hub_sync *s)
{
    if (s == NULL)
        return;
    hub_sync_forget(s, 0);
    if (s->rt.rates != NULL)
        hub_rate_registry_free(s->rt.rates);
    hub_rate_pg_free(s->rate_pg);
    if (s->rt.http != NULL)
        hub_http_client_free(s->rt.http);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int
hub_sync_register(struct hub_sync *s, struct hub_worker_pool *pool, struct hub_error *err)
{
    int rc = hub_worker_register(pool, HUB_JOB_SYNC_IMPORT, hub_sync_job_import, s);

    if (rc == 0)
        rc = hub_worker_register(pool, HUB_JOB_SYNC_EXPORT, hub_sync_job_export, s);
    if (rc == 0)
        rc = hub_worker_register(pool, HUB_JOB_WEBHOOK_SUBSCRIBE, job_subscribe, s);
    if (rc == 0)
        rc = hub_worker_register(pool, HUB_JOB_SYNC_SWEEP, hub_sync_job_sweep, s);
    if (rc < 0)
        return hub_error_set(err, rc, "cannot register the sync jobs");
    return 0;
}
