/*
 * The sync.import job (docs/SYNC.md): a run of one entity of one integration, full,
 * incremental or a reconciliation, resumed from its last committed page. Each page comes from
 * the connector's list() (fetched on a second connection while the page before is applied:
 * the pipeline), is applied by hub_sync_apply_page and committed with the run's cursor and its
 * sync log's counters in one transaction.
 */
#include "sync/engine_internal.h"
#include "core/buf.h"
#include "core/log.h"
#include "oauth/oauth.h"
#include "queue/worker.h"
#include "sync/apply.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CURSOR_MAX 8192

/* ---- import ---------------------------------------------------------------------------------- */

struct emit_ctx {
    struct hub_sync_page   *page;
    struct hub_sync_counts *counts;
    struct hub_buf         *details;
};

static int
on_emit(struct hub_call *call, uint32_t entity, sx_str json, void *arg)
{
    struct emit_ctx *e = arg;
    struct hub_error err;
    int              rc;

    (void)call;
    (void)entity;
    rc = hub_sync_page_add(e->page, json.ptr, json.len, &err);
    if (rc == HUB_E_INVALID) {
        /* One bad record: counted and logged, the page goes on. */
        e->counts->processed++;
        e->counts->failed++;
        if (e->details->len < 256 * 1024) {
            hub_buf_puts(e->details, e->details->len ? ",{\"error\":" : "{\"error\":");
            hub_buf_json_str(e->details, err.msg, strlen(err.msg));
            hub_buf_puts(e->details, "}");
        }
        return SX_OK;
    }
    return rc == 0 ? SX_OK : SX_E_LIMIT;
}

int
hub_sync_entity_ok(const char *e)
{
    return e != NULL && (strcmp(e, "customer") == 0 || strcmp(e, "product") == 0 ||
                         strcmp(e, "order") == 0);
}

uint32_t
hub_sync_entity_id(const char *e)
{
    if (strcmp(e, "customer") == 0)
        return SX_ENTITY_CUSTOMER;
    if (strcmp(e, "product") == 0)
        return SX_ENTITY_PRODUCT;
    if (strcmp(e, "order") == 0)
        return SX_ENTITY_ORDER;
    return SX_ENTITY_NONE;
}

/* The run's state row, created when absent. Fills the resumable fields. */
struct run_state {
    int64_t log_id;              /* 0: no run in progress */
    char    cursor[CURSOR_MAX];
    int64_t since_ms;            /* 0: full */
    int     has_watermark;
    int64_t watermark_ms;
};

static int
state_load(struct hub_db *db, const char *ids, const char *entity, struct run_state *st,
           struct hub_error *err)
{
    const char *p[2] = { ids, entity };
    PGresult   *res = NULL;
    int         rc;

    memset(st, 0, sizeof(*st));
    rc = hub_db_query(db, "INSERT INTO sync_state (integration_id, entity, direction) "
                      "VALUES ($1, $2, 'import') ON CONFLICT DO NOTHING", 2, p, NULL, err);
    if (rc == 0)
        rc = hub_db_query(db, "SELECT s.run_log_id, coalesce(s.run_cursor, ''), "
                          "  (extract(epoch FROM s.run_since) * 1000)::bigint, "
                          "  (extract(epoch FROM s.watermark) * 1000)::bigint, l.status "
                          "FROM sync_state s LEFT JOIN integration_sync_logs l "
                          "  ON l.id = s.run_log_id "
                          "WHERE s.integration_id = $1 AND s.entity = $2 AND "
                          "  s.direction = 'import'", 2, p, &res, err);
    if (rc < 0)
        return rc;
    if (PQntuples(res) == 1) {
        if (!PQgetisnull(res, 0, 0) && strcmp(PQgetvalue(res, 0, 4), "RUNNING") == 0) {
            st->log_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
            snprintf(st->cursor, sizeof(st->cursor), "%s", PQgetvalue(res, 0, 1));
            st->since_ms = PQgetisnull(res, 0, 2) ? 0 : strtoll(PQgetvalue(res, 0, 2), NULL, 10);
        }
        if (!PQgetisnull(res, 0, 3)) {
            st->has_watermark = 1;
            st->watermark_ms = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
        }
    }
    PQclear(res);
    return 0;
}

static int
run_start(struct hub_db *db, const char *ids, const char *entity, const char *mode,
          int64_t job_id, struct run_state *st, int overlap_s, const char *connector_version,
          struct hub_error *err)
{
    char        since[32] = "", job[24];
    const char *p[5];
    PGresult   *res = NULL;
    int         rc;

    st->since_ms = 0;
    if ((strcmp(mode, "incremental") == 0 || strcmp(mode, "reconcile") == 0) &&
        st->has_watermark) {
        st->since_ms = st->watermark_ms - (int64_t)overlap_s * 1000;
        if (st->since_ms < 1)
            st->since_ms = 1;
        snprintf(since, sizeof(since), "%" PRId64, st->since_ms);
    }
    snprintf(job, sizeof(job), "%" PRId64, job_id);
    rc = hub_db_begin(db, err);
    if (rc < 0)
        return rc;
    p[0] = ids;
    p[1] = entity;
    /* A reconciliation is an incremental run over a wider window: what webhooks missed (never
     * sent, lost, refused) comes back and is healed; its created + updated are the count. */
    p[2] = strcmp(mode, "reconcile") == 0 ? "reconcile" : st->since_ms ? "incremental" : "full";
    p[3] = job;
    p[4] = connector_version;
    rc = hub_db_query(db, "INSERT INTO integration_sync_logs (integration_id, entity, direction, "
                      "type, status, job_id, connector_version) VALUES ($1, $2, 'import', $3, "
                      "'RUNNING', $4, left($5, 200)) RETURNING id", 5, p, &res, err);
    if (rc < 0)
        goto fail;
    st->log_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    res = NULL;
    {
        char logid[24];

        snprintf(logid, sizeof(logid), "%" PRId64, st->log_id);
        p[2] = logid;
        p[3] = since[0] ? since : NULL;
        rc = hub_db_query(db, "UPDATE sync_state SET run_log_id = $3, run_cursor = '', "
                          "run_since = to_timestamp($4::bigint / 1000.0), run_started_at = now(), "
                          "updated_at = now() WHERE integration_id = $1 AND entity = $2 AND "
                          "direction = 'import'", 4, p, NULL, err);
    }
    if (rc < 0)
        goto fail;
    st->cursor[0] = '\0';
    return hub_db_commit(db, err);
fail:
    PQclear(res);
    hub_db_rollback(db);
    return rc;
}

/* Apply one page and move the cursor, in one transaction. */
static int
commit_page(struct hub_db *db, const struct integ *in, const char *entity,
            struct hub_sync_page *page, const struct run_state *st, const char *next,
            struct hub_sync_counts *c, struct hub_buf *details, struct hub_error *err)
{
    char        ids[24], logid[24], n[7][24];
    const char *p[10];
    int         rc;

    snprintf(ids, sizeof(ids), "%" PRId64, in->id);
    snprintf(logid, sizeof(logid), "%" PRId64, st->log_id);
    rc = hub_db_begin(db, err);
    if (rc < 0)
        return rc;
    rc = hub_sync_apply_page(db, in->id, in->org, entity, page, c, details, err);
    if (rc < 0)
        goto fail;
    p[0] = ids;
    p[1] = entity;
    p[2] = next;
    rc = hub_db_query(db, "UPDATE sync_state SET run_cursor = $3, updated_at = now() "
                      "WHERE integration_id = $1 AND entity = $2 AND direction = 'import'",
                      3, p, NULL, err);
    if (rc < 0)
        goto fail;
    snprintf(n[0], sizeof(n[0]), "%" PRId64, c->processed);
    snprintf(n[1], sizeof(n[1]), "%" PRId64, c->created);
    snprintf(n[2], sizeof(n[2]), "%" PRId64, c->updated);
    snprintf(n[3], sizeof(n[3]), "%" PRId64, c->skipped);
    snprintf(n[4], sizeof(n[4]), "%" PRId64, c->failed);
    snprintf(n[5], sizeof(n[5]), "%" PRId64, c->conflicts);
    snprintf(n[6], sizeof(n[6]), "%" PRId64, c->deleted);
    p[0] = logid;
    p[1] = n[0];
    p[2] = n[1];
    p[3] = n[2];
    p[4] = n[3];
    p[5] = n[4];
    p[6] = n[5];
    p[7] = next;
    p[9] = n[6];
    hub_buf_puts(details, "");
    {
        char *arr = malloc(details->len + 3);

        if (arr == NULL) {
            rc = hub_error_set(err, HUB_E_NOMEM, "out of memory");
            goto fail;
        }
        snprintf(arr, details->len + 3, "[%s]", details->data != NULL ? details->data : "");
        p[8] = arr;
        /* Counters are this page's; the log accumulates them. */
        rc = hub_db_query(db, "UPDATE integration_sync_logs SET processed = processed + $2, "
                          "created = created + $3, updated = updated + $4, skipped = skipped + $5, "
                          "failed = failed + $6, conflicts = conflicts + $7, pages = pages + 1, "
                          "cursor = $8, error_details = CASE WHEN jsonb_array_length(error_details) "
                          "< 1000 THEN error_details || $9::jsonb ELSE error_details END, "
                          "deleted = deleted + $10 WHERE id = $1", 10, p, NULL, err);
        free(arr);
    }
    if (rc < 0)
        goto fail;
    return hub_db_commit(db, err);
fail:
    hub_db_rollback(db);
    return rc;
}

static int
run_finish(struct hub_db *db, const struct integ *in, const char *entity, int64_t log_id,
           const char *status, const char *error, struct hub_error *err)
{
    char        ids[24], logid[24];
    const char *p[5];
    int         rc;

    snprintf(ids, sizeof(ids), "%" PRId64, in->id);
    snprintf(logid, sizeof(logid), "%" PRId64, log_id);
    rc = hub_db_begin(db, err);
    if (rc < 0)
        return rc;
    p[0] = ids;
    p[1] = entity;
    p[2] = status;
    /* The watermark moves to the start of this run only when it completed: a failed run's
     * records come again in the next one. */
    rc = hub_db_query(db, "UPDATE sync_state SET watermark = CASE WHEN $3 = 'FAILED' THEN "
                      "watermark ELSE run_started_at END, run_log_id = NULL, run_cursor = NULL, "
                      "run_since = NULL, updated_at = now() WHERE integration_id = $1 AND "
                      "entity = $2 AND direction = 'import'", 3, p, NULL, err);
    if (rc == 0) {
        p[0] = logid;
        p[1] = status;
        p[2] = error;
        rc = hub_db_query(db, "UPDATE integration_sync_logs SET status = $2, finished_at = now(), "
                          "duration_ms = (extract(epoch FROM now() - started_at) * 1000)::bigint, "
                          "error_details = CASE WHEN $3::text IS NULL THEN error_details ELSE "
                          "error_details || jsonb_build_array(jsonb_build_object('error', $3::text)) "
                          "END WHERE id = $1", 3, p, NULL, err);
    }
    if (rc == 0) {
        p[0] = ids;
        p[1] = status;
        p[2] = error;
        rc = hub_db_query(db, "UPDATE integrations SET last_sync_at = now(), "
                          "sync_count = sync_count + 1, "
                          "last_success_at = CASE WHEN $2 <> 'FAILED' THEN now() ELSE last_success_at END, "
                          "error_count = error_count + CASE WHEN $2 = 'FAILED' THEN 1 ELSE 0 END, "
                          "last_error_at = CASE WHEN $2 = 'FAILED' THEN now() ELSE last_error_at END, "
                          "last_error_message = CASE WHEN $2 = 'FAILED' THEN $3 ELSE last_error_message END "
                          "WHERE id = $1", 3, p, NULL, err);
    }
    if (rc < 0) {
        hub_db_rollback(db);
        return rc;
    }
    return hub_db_commit(db, err);
}

/* The connector's code: retry the job (the run resumes) or not. */
int
hub_sync_retryable(int sx_code)
{
    return sx_code == SX_E_TRANSIENT || sx_code == SX_E_RATE_LIMITED || sx_code == SX_E_NOMEM ||
           sx_code == HUB_E_DB || sx_code == HUB_E_CONFLICT;
}

/*
 * One page of the run. A token the platform refused (401) is refreshed once, unless another
 * worker already replaced it, and the page asked again: an expiring token that died early does
 * not fail a run.
 */
static int
list_page(struct hub_sync *s, struct hub_db *db, struct hub_instance *inst,
          const struct integ *in, const char *entity, const struct run_state *st,
          struct emit_ctx *ec, char *next, int *more, struct hub_error *err)
{
    struct hub_oauth_token_info ti;
    uint32_t                    page_size;
    int                         rc, attempt;

    page_size = (uint32_t)hub_sync_setting_int(in, "page_size", s->opts.page_size, 1, 1000);
    memset(&ti, 0, sizeof(ti));
    for (attempt = 0; attempt < 2; attempt++) {
        if (inst->plugin->desc.auth_kind == SX_AUTH_OAUTH2_CODE &&
            hub_oauth_token_info(db, in->id, &ti, err) < 0)
            ti.present = 0;
        hub_sync_page_reset(ec->page);
        hub_buf_reset(ec->details);
        memset(ec->counts, 0, sizeof(*ec->counts));
        rc = hub_instance_list(inst, db, hub_sync_entity_id(entity), st->cursor, st->since_ms,
                               page_size, on_emit, ec, next, CURSOR_MAX, more, err);
        if (rc != SX_E_AUTH || attempt > 0 || !ti.present || ti.dead ||
            inst->plugin->desc.auth == NULL || inst->plugin->desc.auth->refresh == NULL)
            return rc;
        hub_log_warn("sync", "integration %" PRId64 ": the platform refused the token (%s); "
                     "refreshing it once", in->id, err->msg);
        rc = hub_oauth_refresh_if_generation(db, &s->rt, inst, ti.generation, err);
        if (rc < 0)
            return rc == HUB_E_AUTH ? SX_E_AUTH : rc;
    }
    return rc;
}

/*
 * One page being fetched: the connector's list() and the parse of its records into `page`.
 * With a second database connection the run is pipelined: page N+1 is fetched on a thread
 * (its own connection for the host services a connector calls) while page N is applied and
 * committed on the worker's connection; PostgreSQL's half of a page and the hub's and
 * platform's half overlap. The cursor of a page is still committed with the page before it.
 */
struct fetch {
    struct hub_sync        *s;
    struct hub_db          *db;
    struct hub_instance    *inst;
    const struct integ     *in;
    const char             *entity;
    struct run_state        st;           /* st.cursor: the page to fetch */
    struct hub_sync_page    page;
    struct hub_sync_counts  c;
    struct hub_buf          details;
    struct emit_ctx         ec;
    char                   *next;         /* CURSOR_MAX */
    int                     more;
    int                     rc;
    struct hub_error        err;
    pthread_t               thread;
    int                     running;
};

static void
fetch_run(struct fetch *f)
{
    f->ec.page = &f->page;
    f->ec.counts = &f->c;
    f->ec.details = &f->details;
    f->more = 0;
    memset(&f->err, 0, sizeof(f->err));
    f->rc = list_page(f->s, f->db, f->inst, f->in, f->entity, &f->st, &f->ec, f->next,
                      &f->more, &f->err);
}

static void *
fetch_main(void *arg)
{
    fetch_run(arg);
    return NULL;
}

/* Start fetching the page at `cursor`: on a thread when `async`, else now. */
static void
fetch_start(struct fetch *f, const char *cursor, int async)
{
    snprintf(f->st.cursor, sizeof(f->st.cursor), "%s", cursor);
    f->running = 0;
    if (async && pthread_create(&f->thread, NULL, fetch_main, f) == 0) {
        f->running = 1;
        return;
    }
    fetch_run(f);
}

static void
fetch_wait(struct fetch *f)
{
    if (f->running) {
        pthread_join(f->thread, NULL);
        f->running = 0;
    }
}

static void
fetch_free(struct fetch *f)
{
    fetch_wait(f);
    hub_sync_page_free(&f->page);
    hub_buf_free(&f->details);
    free(f->next);
    f->next = NULL;
}

int
hub_sync_job_import(const struct hub_job *job, struct hub_job_run *run, void *ctx,
                    struct hub_error *err)
{
    struct hub_sync        *s = ctx;
    struct integ            in;
    struct hub_instance    *inst = NULL;
    struct run_state        st;
    struct hub_sync_counts  total;
    struct fetch            fe[2], *cur, *nxt;
    struct hub_db           fdb;
    json_object            *pl = json_tokener_parse(job->payload), *v;
    char                    entity[16] = "", mode[16] = "incremental", ids[24];
    int64_t                 integration_id = 0;
    int                     rc, more = 1, last_attempt = job->attempts >= job->max_attempts;
    int                     fdb_open = 0, k;

    if (pl != NULL && json_object_object_get_ex(pl, "integration_id", &v))
        integration_id = json_object_get_int64(v);
    if (pl != NULL && json_object_object_get_ex(pl, "entity", &v) && json_object_get_string(v))
        snprintf(entity, sizeof(entity), "%s", json_object_get_string(v));
    if (pl != NULL && json_object_object_get_ex(pl, "mode", &v) && json_object_get_string(v))
        snprintf(mode, sizeof(mode), "%s", json_object_get_string(v));
    json_object_put(pl);
    if (integration_id <= 0 || !hub_sync_entity_ok(entity) ||
        (strcmp(mode, "full") != 0 && strcmp(mode, "incremental") != 0 &&
         strcmp(mode, "reconcile") != 0))
        return hub_error_set(err, HUB_E_INVALID, "sync.import payload needs integration_id, "
                             "entity (customer|product|order) and mode (full|incremental|reconcile)");

    rc = hub_sync_job_begin(s, run, integration_id, &in, &inst, err);
    if (rc != 0)
        return rc > 0 ? 0 : rc;
    snprintf(ids, sizeof(ids), "%" PRId64, in.id);
    memset(fe, 0, sizeof(fe));
    memset(&fdb, 0, sizeof(fdb));
    for (k = 0; k < 2; k++) {
        fe[k].s = s;
        fe[k].inst = inst;
        fe[k].in = &in;
        fe[k].entity = entity;
        hub_sync_page_init(&fe[k].page);
        hub_buf_init(&fe[k].details, 1 << 20);
        fe[k].next = malloc(CURSOR_MAX);
    }
    memset(&total, 0, sizeof(total));
    if (fe[0].next == NULL || fe[1].next == NULL) {
        rc = hub_error_set(err, HUB_E_NOMEM, "out of memory");
        goto out;
    }
    rc = state_load(run->db, ids, entity, &st, err);
    if (rc < 0)
        goto out;
    if (st.log_id != 0) {
        hub_log_info("sync", "integration %s %s: resuming run %" PRId64 " from its last "
                     "committed page", ids, entity, st.log_id);
    } else {
        /* A full reconciliation (sync_settings.reconcile_full, PrestaShop's default) reads
         * every record: changes that move no updated_at (stock, order rows) are healed. */
        if (strcmp(mode, "reconcile") == 0 && in.reconcile_full)
            st.has_watermark = 0;
        rc = run_start(run->db, ids, entity, mode, job->id, &st,
                       strcmp(mode, "reconcile") == 0 ?
                       (int)hub_sync_setting_int(&in, "reconcile_window_s", 3600, 60, 7 * 86400) :
                       (int)hub_sync_setting_int(&in, "overlap_s", s->opts.overlap_s, 0, 86400),
                       inst->plugin->desc.version, err);
        if (rc < 0)
            goto out;
    }
    /* Pipelined when a second connection can be had (sync_settings.pipeline false: never). */
    if (s->opts.conninfo != NULL && hub_sync_setting_bool(&in, "pipeline", 1)) {
        struct hub_error cerr;

        if (hub_db_connect(&fdb, s->opts.conninfo, &cerr) == 0)
            fdb_open = 1;
        else
            hub_log_warn("sync", "integration %s %s: no second connection (%s); pages are "
                         "fetched and applied in turn", ids, entity, cerr.msg);
    }
    for (k = 0; k < 2; k++) {
        fe[k].db = fdb_open ? &fdb : run->db;
        fe[k].st = st;
    }
    cur = &fe[0];
    nxt = &fe[1];
    fetch_start(cur, st.cursor, 0);

    while (more) {
        if (cur->rc < 0) {
            *err = cur->err;
            rc = cur->rc;
            if (hub_sync_retryable(rc) && !last_attempt) {
                hub_log_warn("sync", "integration %s %s: page failed (%s); the run resumes "
                             "at this page", ids, entity, err->msg);
                rc = HUB_E_TRANSIENT;
                goto out;
            }
            {
                struct hub_error ferr;

                run_finish(run->db, &in, entity, st.log_id, "FAILED", err->msg, &ferr);
            }
            rc = hub_sync_retryable(rc) ? HUB_E_TRANSIENT : HUB_E_REJECTED;
            goto out;
        }
        more = cur->more;
        /* The next page is read while this one is applied. */
        if (more)
            fetch_start(nxt, cur->next, fdb_open);
        rc = commit_page(run->db, &in, entity, &cur->page, &st, more ? cur->next : "", &cur->c,
                         &cur->details, err);
        if (rc < 0)
            goto out;            /* the database failed: the job retries, the page again */
        /* A page's trees and buffers were freed in the fetching thread's malloc arena and in
         * this one; give the free pages of every arena back now, or each arena keeps its own
         * high-water mark and the hub's resident size grows with the number of arenas. */
        malloc_trim(0);
        /* An import fills the mappings faster than autovacuum analyzes them. */
        hub_sync_stats_tick(run->db, cur->c.processed);
        total.processed += cur->c.processed;
        total.created += cur->c.created;
        total.updated += cur->c.updated;
        total.skipped += cur->c.skipped;
        total.failed += cur->c.failed;
        total.conflicts += cur->c.conflicts;
        total.deleted += cur->c.deleted;
        snprintf(st.cursor, sizeof(st.cursor), "%s", more ? cur->next : "");
        if (more && hub_worker_stopping(run)) {
            rc = hub_error_set(err, HUB_E_TRANSIENT, "hub stopping; the run resumes at the "
                               "next page");
            goto out;
        }
        if (more) {
            struct fetch *t = cur;

            fetch_wait(nxt);
            cur = nxt;
            nxt = t;
        }
    }
    {
        PGresult   *res = NULL;
        char        logid[24];
        const char *p[1] = { logid };
        int         failed = 0;

        snprintf(logid, sizeof(logid), "%" PRId64, st.log_id);
        if (hub_db_query(run->db, "SELECT failed FROM integration_sync_logs WHERE id = $1", 1, p,
                         &res, err) == 0 && PQntuples(res) == 1)
            failed = atoi(PQgetvalue(res, 0, 0)) > 0;
        PQclear(res);
        rc = run_finish(run->db, &in, entity, st.log_id, failed ? "PARTIAL" : "COMPLETED", NULL,
                        err);
    }
    if (rc == 0)
        hub_log_info("sync", "integration %s %s import done: %" PRId64 " processed, %" PRId64
                     " created, %" PRId64 " updated, %" PRId64 " deleted, %" PRId64 " skipped, %"
                     PRId64 " failed", ids, entity, total.processed, total.created, total.updated,
                     total.deleted, total.skipped, total.failed);
out:
    fetch_free(&fe[0]);           /* waits for a fetch in flight first */
    fetch_free(&fe[1]);
    if (fdb_open)
        hub_db_close(&fdb);
    hub_sync_instance_put(s, inst);
    hub_sync_integ_free(&in);
    return rc;
}
