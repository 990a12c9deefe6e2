/*
 * The deletion sweep: sync.sweep jobs (docs/SYNC.md, "Deletion sweep").
 *
 * Some platforms send no delete events and drop deleted records from their listings
 * (PrestaShop removes products and orders outright): an incremental import never learns of a
 * deletion. The sweep lists the ids of every record the platform has now (the connector's
 * list_ids, ABI 1.2) and, after a COMPLETE listing only, marks deleted what the mapping store
 * has and the listing lacks:
 *   - only mappings created before the sweep started are candidates (a record imported
 *     while the listing ran may be missing from it);
 *   - a mapping already marked deleted (integration_mappings.deleted_at) is not marked again;
 *   - the deletions go through the engine's own apply (hub_sync_apply_page) as records
 *     {"external_id":..,"deleted":true}: companies are flagged, products and their variants
 *     archived, invoices voided, exactly as a delete webhook would; never a hard delete;
 *   - a listing that would mark more than sweep_max_delete_pct (default 50) of the mapped
 *     records, or an empty listing against a non-empty mapping store, is refused: that is a
 *     wrong key, shop or filter far more often than a merchant's mass deletion. Nothing is
 *     marked, the run is FAILED with a sentence saying how to accept it;
 *   - a failed or interrupted listing marks nothing; the job retries from the first page
 *     (a sweep holds no state between attempts but its sync log).
 *
 * Jobs: sync.sweep {"integration_id": N, "entity": "customer|product|order"}, dedupe key
 * "sync:sweep:<N>:<entity>" (one sweep per integration and entity across every hub). The
 * scheduler enqueues one every sweep_interval_s (sync_settings, or the platform's default:
 * sx_platform_default) once the entity has completed an import.
 */
#include "sync/engine_internal.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "queue/queue.h"
#include "sync/apply.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SWEEP_CURSOR_MAX     8192
#define SWEEP_MAX_IDS        5000000      /* ~ 40 MB of ids at most */
#define SWEEP_PAGE_SIZE      1000
#define SWEEP_APPLY_CHUNK    1000
#define SWEEP_PROGRESS_PAGES 10
#define SWEEP_DETAILS_MAX    (256 * 1024)

struct sweep_ids {
    struct hub_buf ids;          /* "id\n" per listed record */
    int64_t        n;
    int            bad;          /* a record without a usable external_id */
    int            full;         /* over SWEEP_MAX_IDS */
    char           why[160];
};

static int
on_id(struct hub_call *call, uint32_t entity, sx_str json, void *arg)
{
    struct sweep_ids    *s = arg;
    struct json_tokener *tok;
    json_object         *root, *v;
    const char          *id;
    size_t               i, len;

    (void)call;
    (void)entity;
    if (s->n >= SWEEP_MAX_IDS) {
        s->full = 1;
        return SX_E_LIMIT;
    }
    tok = json_tokener_new_ex(8);
    if (tok == NULL)
        return SX_E_NOMEM;
    root = json.len <= 4096 ? json_tokener_parse_ex(tok, json.ptr, (int)json.len) : NULL;
    json_tokener_free(tok);
    if (root == NULL || !json_object_object_get_ex(root, "external_id", &v) ||
        !json_object_is_type(v, json_type_string) ||
        (len = (size_t)json_object_get_string_len(v)) == 0 || len > 512) {
        json_object_put(root);
        s->bad = 1;
        snprintf(s->why, sizeof(s->why), "a listed record has no string external_id of "
                 "1-512 bytes");
        return SX_E_INVALID;
    }
    id = json_object_get_string(v);
    for (i = 0; i < len; i++) {
        if ((unsigned char)id[i] < 0x20) {
            s->bad = 1;
            snprintf(s->why, sizeof(s->why), "a listed external_id contains a control "
                     "character");
            json_object_put(root);
            return SX_E_INVALID;
        }
    }
    if (hub_buf_append(&s->ids, id, len) < 0 || hub_buf_puts(&s->ids, "\n") < 0) {
        json_object_put(root);
        s->full = 1;
        return SX_E_LIMIT;
    }
    json_object_put(root);
    s->n++;
    return SX_OK;
}

/* Close the sweep's log. `error` NULL on success. */
static int
sweep_finish(struct hub_db *db, int64_t integration_id, int64_t log_id, const char *status,
             int64_t listed, int64_t pages, const char *error, struct hub_error *err)
{
    char        ids[24], logid[24], n[2][24];
    const char *p[6];
    int         rc;

    snprintf(ids, sizeof(ids), "%" PRId64, integration_id);
    snprintf(logid, sizeof(logid), "%" PRId64, log_id);
    snprintf(n[0], sizeof(n[0]), "%" PRId64, listed);
    snprintf(n[1], sizeof(n[1]), "%" PRId64, pages);
    p[0] = logid;
    p[1] = status;
    p[2] = error;
    p[3] = n[0];
    p[4] = n[1];
    rc = hub_db_query(db, "UPDATE integration_sync_logs SET status = $2, finished_at = now(), "
                      "processed = $4, pages = $5, "
                      "duration_ms = (extract(epoch FROM now() - started_at) * 1000)::bigint, "
                      "error_details = CASE WHEN $3::text IS NULL THEN error_details ELSE "
                      "error_details || jsonb_build_array(jsonb_build_object('error', $3::text)) "
                      "END WHERE id = $1", 5, p, NULL, err);
    if (rc == 0 && strcmp(status, "FAILED") == 0) {
        p[0] = ids;
        p[1] = error;
        rc = hub_db_query(db, "UPDATE integrations SET error_count = error_count + 1, "
                          "last_error_at = now(), last_error_message = $2 WHERE id = $1", 2, p,
                          NULL, err);
    }
    return rc;
}

static void
progress(struct hub_db *db, int64_t log_id, int64_t listed, int64_t pages)
{
    char             logid[24], n[2][24];
    const char      *p[3] = { logid, n[0], n[1] };
    struct hub_error e;

    snprintf(logid, sizeof(logid), "%" PRId64, log_id);
    snprintf(n[0], sizeof(n[0]), "%" PRId64, listed);
    snprintf(n[1], sizeof(n[1]), "%" PRId64, pages);
    if (hub_db_query(db, "UPDATE integration_sync_logs SET processed = $2, pages = $3 "
                     "WHERE id = $1", 3, p, NULL, &e) < 0)
        hub_log_debug("sync", "sweep progress: %s", e.msg);
}

/* A line in the log's error_details (an attempt that will be retried). */
static void
note(struct hub_db *db, int64_t log_id, const char *what)
{
    char             logid[24];
    const char      *p[2] = { logid, what };
    struct hub_error e;

    snprintf(logid, sizeof(logid), "%" PRId64, log_id);
    if (hub_db_query(db, "UPDATE integration_sync_logs SET error_details = CASE WHEN "
                     "jsonb_array_length(error_details) < 1000 THEN error_details || "
                     "jsonb_build_array(jsonb_build_object('error', $2::text)) ELSE "
                     "error_details END WHERE id = $1", 2, p, NULL, &e) < 0)
        hub_log_debug("sync", "sweep note: %s", e.msg);
}

static void
time_format(int64_t ms, char out[48])
{
    time_t    t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(out, 48, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/*
 * Mark the candidates deleted through the engine's apply, SWEEP_APPLY_CHUNK per transaction.
 * `res` rows: external_id, external_updated_at in ms (or NULL).
 */
static int
mark_deleted(struct hub_db *db, const struct integ *in, const char *entity, int64_t log_id,
             PGresult *res, int64_t *out_deleted, struct hub_error *err)
{
    struct hub_sync_page   page;
    struct hub_sync_counts c;
    struct hub_buf         rec, details;
    int                    i, n = PQntuples(res), rc = 0;

    hub_sync_page_init(&page);
    hub_buf_init(&rec, 4096);
    hub_buf_init(&details, SWEEP_DETAILS_MAX + 4096);
    *out_deleted = 0;
    for (i = 0; i < n && rc == 0; i += SWEEP_APPLY_CHUNK) {
        int k;

        hub_sync_page_reset(&page);
        hub_buf_reset(&details);
        memset(&c, 0, sizeof(c));
        for (k = i; k < n && k < i + SWEEP_APPLY_CHUNK && rc == 0; k++) {
            const char *ext = PQgetvalue(res, k, 0);
            int64_t     upd = 1;
            char        when[48];

            /* The deletion carries the updated_at the mapping already has: not older (the
             * engine would take it for a late copy and skip it), not newer (the time of the
             * deletion is unknown; a record listed again later, with its own updated_at,
             * must not look older than the deletion and be skipped). */
            if (!PQgetisnull(res, k, 1) && strtoll(PQgetvalue(res, k, 1), NULL, 10) > 0)
                upd = strtoll(PQgetvalue(res, k, 1), NULL, 10);
            time_format(upd, when);
            hub_buf_reset(&rec);
            hub_buf_puts(&rec, "{\"external_id\":");
            hub_buf_json_str(&rec, ext, strlen(ext));
            hub_buf_printf(&rec, ",\"deleted\":true,\"updated_at\":\"%s\"}", when);
            rc = hub_sync_page_add(&page, rec.data, rec.len, err);
            if (details.len < SWEEP_DETAILS_MAX) {
                hub_buf_puts(&details, details.len ? ",{\"external_id\":" : "{\"external_id\":");
                hub_buf_json_str(&details, ext, strlen(ext));
                hub_buf_puts(&details, ",\"deleted\":\"missing from the platform's listing\"}");
            }
        }
        if (rc < 0)
            break;
        rc = hub_db_begin(db, err);
        if (rc < 0)
            break;
        rc = hub_sync_apply_page(db, in->id, in->org, entity, &page, &c, &details, err);
        if (rc == 0) {
            char        logid[24], nd[24], *arr;
            const char *p[3] = { logid, nd, NULL };

            snprintf(logid, sizeof(logid), "%" PRId64, log_id);
            snprintf(nd, sizeof(nd), "%" PRId64, c.deleted);
            arr = malloc(details.len + 3);
            if (arr == NULL) {
                rc = hub_error_set(err, HUB_E_NOMEM, "out of memory");
            } else {
                snprintf(arr, details.len + 3, "[%s]", details.data != NULL ? details.data : "");
                p[2] = arr;
                rc = hub_db_query(db, "UPDATE integration_sync_logs SET deleted = deleted + $2, "
                                  "error_details = CASE WHEN "
                                  "jsonb_array_length(error_details) < 1000 THEN error_details "
                                  "|| $3::jsonb ELSE error_details END WHERE id = $1", 3, p,
                                  NULL, err);
                free(arr);
            }
        }
        if (rc == 0)
            rc = hub_db_commit(db, err);
        else
            hub_db_rollback(db);
        if (rc == 0)
            *out_deleted += c.deleted;
    }
    hub_sync_page_free(&page);
    hub_buf_free(&rec);
    hub_buf_free(&details);
    return rc;
}

int
hub_sync_job_sweep(const struct hub_job *job, struct hub_job_run *run, void *ctx,
                   struct hub_error *err)
{
    struct hub_sync     *s = ctx;
    struct integ         in;
    struct hub_instance *inst = NULL;
    struct sweep_ids     sw;
    json_object         *pl = json_tokener_parse(job->payload), *v;
    const sx_entity_ops *ops;
    PGresult            *res = NULL;
    char                 entity[16] = "", ids[24], job_s[24], logid[24], started[40] = "";
    char                *cursor = NULL, *next = NULL;
    const char          *p[6];
    int64_t              integration_id = 0, log_id = 0, pages = 0, mapped = 0, deleted = 0;
    int64_t              pct;
    uint32_t             page_size;
    int                  rc, more = 1, last_attempt = job->attempts >= job->max_attempts;

    if (pl != NULL && json_object_object_get_ex(pl, "integration_id", &v))
        integration_id = json_object_get_int64(v);
    if (pl != NULL && json_object_object_get_ex(pl, "entity", &v) && json_object_get_string(v))
        snprintf(entity, sizeof(entity), "%s", json_object_get_string(v));
    json_object_put(pl);
    if (integration_id <= 0 || !hub_sync_entity_ok(entity))
        return hub_error_set(err, HUB_E_INVALID, "sync.sweep payload needs integration_id and "
                             "entity (customer|product|order)");
    rc = hub_sync_job_begin(s, run, integration_id, &in, &inst, err);
    if (rc != 0)
        return rc > 0 ? 0 : rc;
    ops = hub_plugin_entity(inst->plugin, hub_sync_entity_id(entity));
    if (ops == NULL || ops->list_ids == NULL) {
        run->result = "{\"skipped\":\"the connector cannot list every id (no list_ids)\"}";
        hub_sync_instance_put(s, inst);
        hub_sync_integ_free(&in);
        return 0;
    }
    memset(&sw, 0, sizeof(sw));
    hub_buf_init(&sw.ids, (size_t)SWEEP_MAX_IDS * 8);
    cursor = calloc(1, SWEEP_CURSOR_MAX);
    next = calloc(1, SWEEP_CURSOR_MAX);
    if (cursor == NULL || next == NULL) {
        rc = hub_error_set(err, HUB_E_NOMEM, "out of memory");
        goto out;
    }

    /* One sweep per integration and entity runs at a time (the dedupe key). The log of an
     * earlier attempt of this job stays RUNNING and is reused (the listing starts again, from
     * its first start: mappings created since are not candidates); one of another job is an
     * attempt whose job died: it marked nothing. */
    snprintf(ids, sizeof(ids), "%" PRId64, in.id);
    snprintf(job_s, sizeof(job_s), "%" PRId64, job->id);
    p[0] = ids;
    p[1] = entity;
    p[2] = job_s;
    p[3] = inst->plugin->desc.version;
    rc = hub_db_query(run->db, "UPDATE integration_sync_logs SET status = 'FAILED', "
                      "finished_at = now(), error_details = error_details || "
                      "'[{\"error\":\"interrupted before the listing completed; nothing was "
                      "marked deleted\"}]'::jsonb WHERE integration_id = $1 AND entity = $2 "
                      "AND type = 'sweep' AND status = 'RUNNING' AND job_id IS DISTINCT FROM "
                      "$3::bigint", 3, p, NULL, err);
    if (rc == 0)
        rc = hub_db_query(run->db, "UPDATE integration_sync_logs SET processed = 0, pages = 0 "
                          "WHERE integration_id = $1 AND entity = $2 AND type = 'sweep' AND "
                          "status = 'RUNNING' AND job_id = $3::bigint "
                          "RETURNING id, started_at::text", 3, p, &res, err);
    if (rc == 0 && PQntuples(res) == 0) {
        PQclear(res);
        res = NULL;
        rc = hub_db_query(run->db, "INSERT INTO integration_sync_logs (integration_id, entity, "
                          "direction, type, status, job_id, connector_version) VALUES ($1, $2, "
                          "'import', 'sweep', 'RUNNING', $3, left($4, 200)) "
                          "RETURNING id, started_at::text", 4, p, &res, err);
    }
    if (rc < 0)
        goto out;
    log_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    snprintf(started, sizeof(started), "%s", PQgetvalue(res, 0, 1));
    snprintf(logid, sizeof(logid), "%" PRId64, log_id);
    PQclear(res);
    res = NULL;

    page_size = (uint32_t)hub_sync_setting_int(&in, "sweep_page_size", SWEEP_PAGE_SIZE, 1,
                                               10000);
    while (more) {
        rc = hub_instance_list_ids(inst, run->db, hub_sync_entity_id(entity), cursor,
                                   page_size, on_id, &sw, next, SWEEP_CURSOR_MAX, &more,
                                   err);
        if (rc >= 0 && (sw.bad || sw.full)) {
            rc = hub_error_set(err, sw.bad ? HUB_E_PROTOCOL : HUB_E_LIMIT, "%s", sw.bad ? sw.why
                               : "the platform listed more ids than a sweep holds "
                               "(5,000,000, or 40 MB of ids)");
        }
        if (rc >= 0 && more && strcmp(next, cursor) == 0)
            rc = hub_error_set(err, HUB_E_PROTOCOL, "list_ids returned the cursor it was "
                               "given (%.100s): the listing would never end", cursor);
        if (rc < 0) {
            char             why[600];
            struct hub_error ferr;
            int              retry = hub_sync_retryable(rc) && !last_attempt;

            snprintf(why, sizeof(why), "listing page %" PRId64 " failed (%.400s); nothing "
                     "was marked deleted%s", pages + 1, err->msg,
                     retry ? "; the sweep starts again" : "");
            if (retry)
                note(run->db, log_id, why);
            else
                sweep_finish(run->db, in.id, log_id, "FAILED", sw.n, pages, why, &ferr);
            hub_error_set(err, retry ? HUB_E_TRANSIENT : HUB_E_REJECTED, "%s", why);
            rc = err->code;
            goto out;
        }
        pages++;
        if (pages % SWEEP_PROGRESS_PAGES == 0)
            progress(run->db, log_id, sw.n, pages);
        if (more && hub_worker_stopping(run)) {
            note(run->db, log_id, "hub stopping before the listing completed; the sweep starts "
                 "again");
            rc = hub_error_set(err, HUB_E_TRANSIENT, "hub stopping; the sweep starts again");
            goto out;
        }
        memcpy(cursor, next, SWEEP_CURSOR_MAX);
    }

    /* The listing is complete: what the mapping store has and the listing lacks. */
    hub_buf_puts(&sw.ids, "");
    p[0] = ids;
    p[1] = entity;
    p[2] = started;
    p[3] = sw.ids.data != NULL ? sw.ids.data : "";
    rc = hub_db_query(run->db, "SELECT count(*) FROM integration_mappings WHERE "
                      "integration_id = $1 AND entity = $2 AND deleted_at IS NULL", 2, p, &res,
                      err);
    if (rc < 0)
        goto out;
    mapped = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    res = NULL;
    rc = hub_db_query(run->db, "WITH seen AS MATERIALIZED (SELECT x FROM string_to_table($4, "
                      "E'\\n') x WHERE x <> '') "
                      "SELECT m.external_id, (extract(epoch FROM m.external_updated_at) * "
                      "1000)::bigint FROM integration_mappings m WHERE m.integration_id = $1 "
                      "AND m.entity = $2 AND m.deleted_at IS NULL AND m.created_at < "
                      "$3::timestamptz AND NOT EXISTS (SELECT 1 FROM seen WHERE seen.x = "
                      "m.external_id) ORDER BY m.external_id", 4, p, &res, err);
    if (rc < 0)
        goto out;
    pct = hub_sync_setting_int(&in, "sweep_max_delete_pct", 50, 0, 100);
    if (PQntuples(res) > 0 && pct < 100 &&
        ((sw.n == 0) || (PQntuples(res) > 10 && (int64_t)PQntuples(res) * 100 > pct * mapped))) {
        char             why[1024];
        struct hub_error ferr;

        snprintf(why, sizeof(why), "the platform listed %" PRId64 " %ss and %d of the %" PRId64
                 " mapped ones are missing: more than sweep_max_delete_pct (%" PRId64 " %%) "
                 "looks like a wrong key, shop or filter rather than deletions; nothing was "
                 "marked deleted (set sync_settings.sweep_max_delete_pct to 100 to accept)",
                 sw.n, entity, PQntuples(res), mapped, pct);
        hub_log_warn("sync", "integration %s %s sweep: %s", ids, entity, why);
        sweep_finish(run->db, in.id, log_id, "FAILED", sw.n, pages, why, &ferr);
        hub_error_set(err, HUB_E_REJECTED, "%s", why);
        rc = HUB_E_REJECTED;
        goto out;
    }
    rc = mark_deleted(run->db, &in, entity, log_id, res, &deleted, err);
    if (rc < 0)
        goto out;                /* the database failed: the job retries, the sweep again */
    rc = sweep_finish(run->db, in.id, log_id, "COMPLETED", sw.n, pages, NULL, err);
    if (rc == 0) {
        run->result = hub_arena_printf(run->arena, "{\"listed\":%" PRId64 ",\"mapped\":%"
                                       PRId64 ",\"deleted\":%" PRId64 "}", sw.n, mapped,
                                       deleted);
        hub_log_info("sync", "integration %s %s sweep done: %" PRId64 " listed, %" PRId64
                     " mapped, %" PRId64 " marked deleted", ids, entity, sw.n, mapped, deleted);
    }
out:
    PQclear(res);
    free(cursor);
    free(next);
    hub_buf_free(&sw.ids);
    hub_sync_instance_put(s, inst);
    hub_sync_integ_free(&in);
    return rc;
}

int
hub_sync_enqueue_sweep(struct hub_db *db, int64_t integration_id, const char *entity,
                       int64_t *out_job, int *out_deduped, struct hub_error *err)
{
    struct hub_job_spec spec;
    char                payload[128], key[96];

    if (!hub_sync_entity_ok(entity))
        return hub_error_set(err, HUB_E_INVALID, "entity must be customer, product or order");
    snprintf(payload, sizeof(payload), "{\"integration_id\":%" PRId64 ",\"entity\":\"%s\"}",
             integration_id, entity);
    snprintf(key, sizeof(key), "sync:sweep:%" PRId64 ":%s", integration_id, entity);
    memset(&spec, 0, sizeof(spec));
    spec.kind = HUB_JOB_SYNC_SWEEP;
    spec.payload = payload;
    spec.dedupe_key = key;
    spec.integration_id = integration_id;
    spec.max_attempts = 5;
    return hub_queue_enqueue(db, &spec, out_job, out_deduped, err);
}
