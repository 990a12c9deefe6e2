/*
 * The admin API's integrations (list, create, read, change, pause, resume, delete, test, the
 * OAuth start), their syncs (start, list, read), mappings and health. See api.h for the
 * security model and docs/API.md for the routes.
 */
#include "api/api_internal.h"
#include "core/log.h"
#include "marketplace/install.h"
#include "oauth/oauth.h"
#include "plugin/hostapi.h"
#include "sync/engine.h"
#include "webhook/webhook.h"

#include <ctype.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- integrations ------------------------------------------------------------------------------ */

/* The public shape of an integration: never the credentials, only their names. */
#define INTEG_JSON                                                                          \
    "json_build_object('id', i.id, 'platform', i.platform, 'name', i.name, 'status', "     \
    "i.status, 'auth_type', i.auth_type, 'config', i.config, 'sync_settings', "             \
    "i.sync_settings, 'credentials_set', (SELECT coalesce(json_agg(s.key ORDER BY s.key), " \
    "'[]'::json) FROM integration_secrets s WHERE s.integration_id = i.id), "               \
    "'last_sync_at', i.last_sync_at, 'last_success_at', i.last_success_at, "                \
    "'last_error_at', i.last_error_at, 'last_error_message', i.last_error_message, "        \
    "'sync_count', i.sync_count, 'error_count', i.error_count, 'created_at', i.created_at, " \
    "'updated_at', i.updated_at)::text"

/* Answer one integration of the token's organization (200), or 404. */
static void
integration_reply(struct api_req *r, const char *ids, int status)
{
    const char *p[2] = { ids, r->org };
    PGresult   *res = NULL;

    if (api_q(r, "SELECT " INTEG_JSON " FROM integrations i WHERE i.id = $1::bigint AND "
              "i.organization_id = $2::bigint AND i.deleted_at IS NULL", 2, p, &res) < 0)
        return;
    if (PQntuples(res) == 0)
        api_not_found(r, "integration");
    else
        api_reply_raw(r, status, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
}

/* The integration `{id}` of the token's organization: platform and config in *out_res
 * (caller clears). 404 answered when it is not one. */
int
api_own_integration(struct api_req *r, int64_t *id, char ids[24], PGresult **out_res)
{
    const char *p[2] = { ids, r->org };

    if (api_param_id(r, "id", id, ids) < 0) {
        api_not_found(r, "integration");
        return -1;
    }
    if (api_q(r, "SELECT platform, config::text, status FROM integrations WHERE id = $1::bigint "
              "AND organization_id = $2::bigint AND deleted_at IS NULL", 2, p, out_res) < 0)
        return -1;
    if (PQntuples(*out_res) == 0) {
        PQclear(*out_res);
        *out_res = NULL;
        api_not_found(r, "integration");
        return -1;
    }
    return 0;
}

void
api_h_integrations_list(struct api_req *r)
{
    struct api_page pg;
    const char *p[3];
    PGresult   *res = NULL;

    if (api_page_parse(r, &pg, 0) < 0)
        goto out;
    p[0] = r->org;
    p[1] = pg.after;
    p[2] = pg.limit1;
    if (api_q(r, "SELECT i.id, " INTEG_JSON " FROM integrations i WHERE i.organization_id = "
              "$1::bigint AND i.deleted_at IS NULL AND i.id > $2::bigint ORDER BY i.id LIMIT "
              "$3::int",
              3, p, &res) == 0)
        api_page_reply(r, &pg, res);
out:
    PQclear(res);
    api_page_free(&pg);
}

static const char *
auth_type_of(struct hub_plugins *plugins, const char *platform, int *found)
{
    struct hub_plugin *pl = hub_plugins_acquire(plugins, platform);
    const char        *kind = "none";

    *found = pl != NULL;
    if (pl != NULL) {
        kind = hub_auth_kind_name(pl->desc.auth_kind);
        hub_plugins_release(plugins, pl);
    }
    if (strcmp(kind, "oauth2_code") != 0 && strcmp(kind, "client_credentials") != 0 &&
        strcmp(kind, "api_key") != 0 && strcmp(kind, "basic") != 0)
        kind = "none";
    return kind;
}

void
api_h_integrations_create(struct api_req *r)
{
    json_object *o = NULL, *creds = NULL;
    const char  *platform, *name, *config, *settings, *auth, *p[7];
    PGresult    *res = NULL;
    char         ids[24];
    int64_t      id;
    int          found;

    if (api_body_object(r, &o) < 0)
        return;
    if (api_member_str(r, o, "platform", 64, &platform) < 0 ||
        api_member_str(r, o, "name", 200, &name) < 0 ||
        api_member_obj(r, o, "config", &config) < 0 ||
        api_member_obj(r, o, "sync_settings", &settings) < 0 ||
        api_check_credentials(r, o, &creds) < 0)
        goto out;
    if (platform == NULL || name == NULL) {
        api_error(r, 422, "missing_field", "{\"required\":[\"platform\",\"name\"]}",
                  "platform and name are required");
        goto out;
    }
    auth = auth_type_of(r->ctx->plugins, platform, &found);
    if (!found) {
        api_error(r, 422, "unknown_connector", NULL, "no connector \"%.64s\" is loaded "
                  "(GET /api/v1/connectors)", platform);
        goto out;
    }
    p[0] = r->org;
    p[1] = platform;
    p[2] = name;
    p[3] = config != NULL ? config : "{}";
    p[4] = settings != NULL ? settings : "{}";
    /* OAuth integrations become ACTIVE on their callback; the others have what they need. */
    p[5] = strcmp(auth, "oauth2_code") == 0 ? "PENDING_AUTH" : "ACTIVE";
    p[6] = auth;
    if (hub_db_begin(r->db, &r->err) < 0) {
        api_internal(r, "begin");
        goto out;
    }
    if (api_q(r, "INSERT INTO integrations (organization_id, platform, name, config, "
              "sync_settings, status, auth_type) VALUES ($1::bigint, $2, $3, $4::jsonb, "
              "$5::jsonb, $6, $7) "
              "RETURNING id", 7, p, &res) < 0)
        goto rollback;
    id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    if (api_store_credentials(r, id, creds) < 0)
        goto rollback;
    if (hub_db_commit(r->db, &r->err) < 0) {
        api_internal(r, "commit");
        goto out;
    }
    snprintf(ids, sizeof(ids), "%" PRId64, id);
    integration_reply(r, ids, 201);
    if (r->status == 201)
        snprintf(r->location, sizeof(r->location), HUB_API_PREFIX "/integrations/%s", ids);
    goto out;
rollback:
    hub_db_rollback(r->db);
out:
    PQclear(res);
    json_object_put(o);
}

void
api_h_integration_get(struct api_req *r)
{
    int64_t id;
    char    ids[24];

    if (api_param_id(r, "id", &id, ids) < 0)
        api_not_found(r, "integration");
    else
        integration_reply(r, ids, 200);
}

void
api_h_integration_patch(struct api_req *r)
{
    json_object *o = NULL, *creds = NULL;
    const char  *name, *config, *settings, *p[5];
    PGresult    *res = NULL;
    char         ids[24];
    int64_t      id;

    if (api_param_id(r, "id", &id, ids) < 0) {
        api_not_found(r, "integration");
        return;
    }
    if (api_body_object(r, &o) < 0)
        return;
    if (api_member_str(r, o, "name", 200, &name) < 0 ||
        api_member_obj(r, o, "config", &config) < 0 ||
        api_member_obj(r, o, "sync_settings", &settings) < 0 ||
        api_check_credentials(r, o, &creds) < 0)
        goto out;
    p[0] = ids;
    p[1] = r->org;
    p[2] = name;
    p[3] = config;
    p[4] = settings;
    if (hub_db_begin(r->db, &r->err) < 0) {
        api_internal(r, "begin");
        goto out;
    }
    if (api_q(r, "UPDATE integrations SET name = coalesce($3, name), config = coalesce($4::jsonb, "
              "config), sync_settings = coalesce($5::jsonb, sync_settings) WHERE id = $1::bigint "
              "AND organization_id = $2::bigint AND deleted_at IS NULL RETURNING id", 5, p,
              &res) < 0)
        goto rollback;
    if (PQntuples(res) == 0) {
        api_not_found(r, "integration");
        goto rollback;
    }
    if (api_store_credentials(r, id, creds) < 0)
        goto rollback;
    if (hub_db_commit(r->db, &r->err) < 0) {
        api_internal(r, "commit");
        goto out;
    }
    /* Cached connector instances hold the old config and credentials. */
    if (r->ctx->sync != NULL)
        hub_sync_forget(r->ctx->sync, id);
    integration_reply(r, ids, 200);
    goto out;
rollback:
    hub_db_rollback(r->db);
out:
    PQclear(res);
    json_object_put(o);
}

static void
set_status(struct api_req *r, int pause)
{
    PGresult   *res = NULL;
    const char *p[2];
    char        ids[24];
    int64_t     id;

    if (api_own_integration(r, &id, ids, &res) < 0)
        return;
    if (!pause && strcmp(PQgetvalue(res, 0, 2), "PAUSED") != 0 &&
        strcmp(PQgetvalue(res, 0, 2), "ACTIVE") != 0) {
        api_error(r, 409, "invalid_state", NULL, "the integration is %s: only a PAUSED "
                  "integration resumes", PQgetvalue(res, 0, 2));
        PQclear(res);
        return;
    }
    PQclear(res);
    res = NULL;
    p[0] = ids;
    p[1] = r->org;
    if (api_q(r, pause ? "UPDATE integrations SET status = 'PAUSED' WHERE id = $1::bigint AND "
                     "organization_id = $2::bigint AND deleted_at IS NULL" :
                     "UPDATE integrations SET status = 'ACTIVE' WHERE id = $1::bigint AND "
                     "organization_id = $2::bigint AND deleted_at IS NULL AND status = 'PAUSED'",
              2, p, &res) == 0)
        integration_reply(r, ids, 200);
    PQclear(res);
}

void
api_h_pause(struct api_req *r)
{
    set_status(r, 1);
}

void
api_h_resume(struct api_req *r)
{
    set_status(r, 0);
}

void
api_h_integration_delete(struct api_req *r)
{
    PGresult   *res = NULL;
    const char *p[2];
    char        ids[24];
    int64_t     id;

    if (api_param_id(r, "id", &id, ids) < 0) {
        api_not_found(r, "integration");
        return;
    }
    p[0] = ids;
    p[1] = r->org;
    if (api_q(r, "UPDATE integrations SET deleted_at = now(), status = 'DISCONNECTED' WHERE id = "
              "$1::bigint AND organization_id = $2::bigint AND deleted_at IS NULL", 2, p, &res) < 0)
        return;
    if (strcmp(PQcmdTuples(res), "1") != 0) {
        api_not_found(r, "integration");
    } else {
        if (r->ctx->sync != NULL)
            hub_sync_forget(r->ctx->sync, id);
        api_reply_raw(r, 204, NULL, 0);
    }
    PQclear(res);
}

static struct hub_runtime *
runtime_of(struct api_req *r)
{
    if (r->ctx->rt != NULL)
        return r->ctx->rt;
    return r->ctx->sync != NULL ? hub_sync_runtime(r->ctx->sync) : NULL;
}

void
api_h_test(struct api_req *r)
{
    struct hub_runtime  *rt = runtime_of(r);
    struct hub_instance *inst = NULL;
    PGresult            *res = NULL;
    struct hub_buf       b;
    char                 ids[24];
    int64_t              id;
    int                  rc;

    if (api_own_integration(r, &id, ids, &res) < 0)
        return;
    if (rt == NULL) {
        api_error(r, 503, "unavailable", NULL, "this hub runs no connectors (workers = 0)");
        PQclear(res);
        return;
    }
    rc = hub_instance_open(rt, r->ctx->plugins, PQgetvalue(res, 0, 0), id, PQgetvalue(res, 0, 1),
                           NULL, r->db, &inst, &r->err);
    if (rc == 0)
        rc = hub_instance_test_connection(inst, r->db, &r->err);
    if (rc == 0 && strcmp(PQgetvalue(res, 0, 0), "woocommerce") == 0) {
        struct hub_error serr;

        if (hub_oauth_woo_store_save(r->db, rt->keys, id, NULL, &serr) < 0)
            hub_log_warn("api", "integration %s: woocommerce_stores: %s", ids, serr.msg);
    }
    hub_instance_close(inst);
    PQclear(res);
    hub_buf_init(&b, 8192);
    if (rc == 0) {
        hub_buf_puts(&b, "{\"ok\":true}");
    } else {
        hub_buf_printf(&b, "{\"ok\":false,\"error\":{\"code\":\"%s\",\"message\":",
                       hub_error_name(rc));
        hub_buf_json_str(&b, r->err.msg, strlen(r->err.msg));
        hub_buf_puts(&b, "}}");
    }
    api_reply_raw(r, 200, b.data, b.len);
    hub_buf_free(&b);
}

void
api_h_oauth_start(struct api_req *r)
{
    struct hub_runtime *rt = runtime_of(r);
    PGresult           *res = NULL;
    struct hub_buf      b;
    char                ids[24], *url = NULL;
    int64_t             id;
    int                 rc;

    if (api_own_integration(r, &id, ids, &res) < 0)
        return;
    PQclear(res);
    if (rt == NULL || r->ctx->public_url == NULL || r->ctx->public_url[0] == '\0') {
        api_error(r, 503, "unavailable", NULL, "this hub runs no connectors or has no public URL");
        return;
    }
    rc = hub_oauth_start(r->db, rt, r->ctx->plugins, id, r->ctx->public_url, &url, &r->err);
    if (rc == HUB_E_UNSUPPORTED) {
        api_error(r, 409, "not_oauth", NULL, "this integration's connector does not use OAuth");
    } else if (rc == HUB_E_NOT_FOUND) {
        api_error(r, 409, "connector_not_loaded", NULL, "the connector is not loaded");
    } else if (rc < 0) {
        hub_log_warn("api", "oauth start of integration %s: %s", ids, r->err.msg);
        api_error(r, 502, "connector_failed", NULL, "the connector could not build the URL");
    } else {
        hub_buf_init(&b, HUB_OAUTH_MAX_URL + 64);
        hub_buf_puts(&b, "{\"authorize_url\":");
        hub_buf_json_str(&b, url, strlen(url));
        hub_buf_puts(&b, "}");
        api_reply_raw(r, 200, b.data, b.len);
        hub_buf_free(&b);
    }
    free(url);
}

/* ---- syncs ------------------------------------------------------------------------------------ */

#define LOG_JSON                                                                            \
    "json_build_object('id', l.id, 'job_id', l.job_id, 'entity', l.entity, 'direction', "   \
    "l.direction, 'mode', l.type, 'status', l.status, 'processed', l.processed, 'created', " \
    "l.created, 'updated', l.updated, 'deleted', l.deleted, 'skipped', l.skipped, 'failed', " \
    "l.failed, 'conflicts', l.conflicts, 'pages', l.pages, 'started_at', l.started_at, "    \
    "'finished_at', l.finished_at, 'duration_ms', l.duration_ms, 'elapsed_s', "             \
    "round(extract(epoch FROM coalesce(l.finished_at, now()) - l.started_at)::numeric, 3), " \
    "'rate', CASE WHEN extract(epoch FROM coalesce(l.finished_at, now()) - l.started_at) > 0 " \
    "THEN round((l.processed / extract(epoch FROM coalesce(l.finished_at, now()) - "        \
    "l.started_at))::numeric, 1) ELSE 0 END"

void
api_h_syncs_create(struct api_req *r)
{
    json_object *o = NULL;
    const char  *entity, *direction, *mode;
    PGresult    *res = NULL;
    char         ids[24];
    int64_t      id, job = 0;
    int          rc;

    if (api_own_integration(r, &id, ids, &res) < 0)
        return;
    PQclear(res);
    if (api_body_object(r, &o) < 0)
        return;
    if (api_member_str(r, o, "entity", 32, &entity) < 0 ||
        api_member_str(r, o, "direction", 16, &direction) < 0 ||
        api_member_str(r, o, "mode", 16, &mode) < 0)
        goto out;
    if (direction == NULL)
        direction = "import";
    if (mode == NULL)
        mode = "incremental";
    if (strcmp(direction, "import") == 0) {
        if (entity == NULL) {
            api_error(r, 422, "missing_field", "{\"required\":[\"entity\"]}",
                      "an import needs an entity");
            goto out;
        }
        rc = hub_sync_enqueue_import(r->db, id, entity, mode, &job, &r->err);
    } else if (strcmp(direction, "export") == 0) {
        rc = hub_sync_enqueue_export(r->db, id, &job, &r->err);
    } else {
        api_error(r, 422, "invalid_field", NULL, "direction is import or export");
        goto out;
    }
    if (rc == HUB_E_INVALID) {
        api_error(r, 422, "invalid_field", NULL, "%s", r->err.msg);
        goto out;
    }
    if (rc < 0) {
        api_internal(r, "enqueue");
        goto out;
    }
    hub_buf_reset(&r->body);
    hub_buf_printf(&r->body, "{\"job_id\":%" PRId64 ",\"integration_id\":%" PRId64
                   ",\"entity\":", job, id);
    if (strcmp(direction, "import") == 0)
        hub_buf_json_str(&r->body, entity, strlen(entity));
    else
        hub_buf_puts(&r->body, "\"*\"");
    hub_buf_printf(&r->body, ",\"direction\":\"%s\",\"mode\":", direction);
    hub_buf_json_str(&r->body, mode, strlen(mode));
    hub_buf_puts(&r->body, ",\"status\":\"queued\"}");
    r->status = 202;
    snprintf(r->location, sizeof(r->location),
             HUB_API_PREFIX "/integrations/%s/syncs?job_id=%" PRId64, ids, job);
out:
    json_object_put(o);
}

void
api_h_syncs_list(struct api_req *r)
{
    struct api_page pg;
    PGresult   *res = NULL;
    const char *p[5], *job, *entity;
    char        ids[24];
    int64_t     id;

    if (api_own_integration(r, &id, ids, &res) < 0)
        return;
    PQclear(res);
    res = NULL;
    if (api_page_parse(r, &pg, 1) < 0)
        goto out;
    job = hub_oauth_param(&pg.qp, "job_id");
    entity = hub_oauth_param(&pg.qp, "entity");
    if (job != NULL && (strlen(job) > 18 || strspn(job, "0123456789") != strlen(job) ||
                        job[0] == '\0')) {
        api_error(r, 400, "invalid_query", NULL, "job_id is a number");
        goto out;
    }
    p[0] = ids;
    p[1] = pg.after;
    p[2] = pg.limit1;
    p[3] = job;
    p[4] = entity;
    if (api_q(r, "SELECT l.id, " LOG_JSON ")::text FROM integration_sync_logs l WHERE "
              "l.integration_id = $1::bigint AND l.id < $2::bigint AND ($4::bigint IS NULL OR "
              "l.job_id = $4::bigint) AND ($5::text IS NULL OR l.entity = $5) ORDER BY l.id DESC "
              "LIMIT $3::int", 5, p, &res) == 0)
        api_page_reply(r, &pg, res);
out:
    PQclear(res);
    api_page_free(&pg);
}

int
api_own_child(struct api_req *r, const char *param, const char *what, char ids[24],
              char cids[24])
{
    PGresult *res = NULL;
    int64_t   id, cid;

    if (api_own_integration(r, &id, ids, &res) < 0)
        return -1;
    PQclear(res);
    if (api_param_id(r, param, &cid, cids) < 0) {
        api_not_found(r, what);
        return -1;
    }
    return 0;
}

void
api_h_sync_get(struct api_req *r)
{
    PGresult   *res = NULL;
    const char *p[2];
    char        ids[24], lids[24];

    if (api_own_child(r, "log_id", "sync run", ids, lids) < 0)
        return;
    p[0] = ids;
    p[1] = lids;
    if (api_q(r, "SELECT " LOG_JSON ", 'cursor', l.cursor, 'error_details', l.error_details)::text "
              "FROM integration_sync_logs l WHERE l.integration_id = $1::bigint AND l.id = "
              "$2::bigint", 2, p, &res) < 0)
        return;
    if (PQntuples(res) == 0)
        api_not_found(r, "sync run");
    else
        api_reply_raw(r, 200, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
}

void
api_h_mappings(struct api_req *r)
{
    struct api_page pg;
    PGresult   *res = NULL;
    const char *p[4];
    char        ids[24];
    int64_t     id;

    if (api_own_integration(r, &id, ids, &res) < 0)
        return;
    PQclear(res);
    res = NULL;
    if (api_page_parse(r, &pg, 0) < 0)
        goto out;
    p[0] = ids;
    p[1] = pg.after;
    p[2] = pg.limit1;
    p[3] = hub_oauth_param(&pg.qp, "entity");
    if (api_q(r, "SELECT m.id, json_build_object('id', m.id, 'entity', m.entity, 'internal_id', "
              "m.internal_id, 'external_id', m.external_id, 'external_updated_at', "
              "m.external_updated_at, 'internal_updated_at', m.internal_updated_at, "
              "'last_synced_at', m.last_synced_at, 'last_direction', m.last_direction, "
              "'created_at', m.created_at)::text FROM integration_mappings m WHERE "
              "m.integration_id = $1::bigint AND m.id > $2::bigint AND ($4::text IS NULL OR "
              "m.entity = $4) ORDER BY m.id LIMIT $3::int", 4, p, &res) == 0)
        api_page_reply(r, &pg, res);
out:
    PQclear(res);
    api_page_free(&pg);
}

void
api_h_health(struct api_req *r)
{
    PGresult   *res = NULL;
    const char *p[2];
    char        ids[24];
    int64_t     id;

    if (api_param_id(r, "id", &id, ids) < 0) {
        api_not_found(r, "integration");
        return;
    }
    p[0] = ids;
    p[1] = r->org;
    if (api_q(r, "SELECT json_build_object('integration_id', i.id, 'status', i.status, "
              "'last_sync_at', i.last_sync_at, 'last_success_at', i.last_success_at, "
              "'last_error_at', i.last_error_at, 'last_error_message', i.last_error_message, "
              "'sync_count', i.sync_count, 'error_count', i.error_count, "
              "'recent_runs', w.n, 'recent_completed', w.ok, 'recent_success_rate', "
              "CASE WHEN w.n = 0 THEN NULL ELSE round(w.ok::numeric / w.n, 4) END, "
              "'running', (SELECT count(*) FROM integration_sync_logs WHERE integration_id = i.id "
              "AND status = 'RUNNING'), "
              "'mappings', (SELECT coalesce(json_object_agg(entity, n), '{}'::json) FROM (SELECT "
              "entity, count(*) AS n FROM integration_mappings WHERE integration_id = i.id GROUP "
              "BY "
              "entity) m), "
              "'webhook_events', (SELECT coalesce(json_object_agg(status, n), '{}'::json) FROM "
              "(SELECT status, count(*) AS n FROM integration_webhook_events WHERE integration_id "
              "= "
              "i.id GROUP BY status) e), "
              /* The seed's KPIs as figures, each next to its target. */
              "'kpis', json_build_object("
              "  'sync_success_rate', CASE WHEN w.n = 0 THEN NULL ELSE round(w.ok::numeric / w.n, "
              "4) END, "
              "  'sync_success_target', 0.98, "
              "  'webhook_processing_p95_s', (SELECT round(percentile_cont(0.95) WITHIN GROUP "
              "(ORDER BY "
              "    extract(epoch FROM processed_at - received_at))::numeric, 3) FROM (SELECT "
              "processed_at, "
              "    received_at FROM integration_webhook_events WHERE integration_id = i.id AND "
              "status = "
              "    'PROCESSED' AND processed_at IS NOT NULL ORDER BY id DESC LIMIT 1000) k), "
              "  'webhook_processing_target_s', 1.0, "
              "  'webhook_events_failed', (SELECT count(*) FROM integration_webhook_events WHERE "
              "    integration_id = i.id AND status = 'FAILED'), "
              "  'webhook_oldest_pending_s', (SELECT round(extract(epoch FROM now() - "
              "min(received_at))"
              "    ::numeric, 1) FROM integration_webhook_events WHERE integration_id = i.id AND "
              "status "
              "    IN ('PENDING', 'PROCESSING'))))::text "
              "FROM integrations i, LATERAL (SELECT count(*) AS n, "
              "count(*) FILTER (WHERE status = 'COMPLETED') AS ok FROM (SELECT status FROM "
              "integration_sync_logs WHERE integration_id = i.id AND status <> 'RUNNING' ORDER BY "
              "id DESC LIMIT 100) x) w WHERE i.id = $1::bigint AND i.organization_id = $2::bigint "
              "AND i.deleted_at IS NULL", 2, p, &res) < 0)
        return;
    if (PQntuples(res) == 0)
        api_not_found(r, "integration");
    else
        api_reply_raw(r, 200, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
}
