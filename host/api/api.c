/*
 * The admin API (/api/v1): routing, authentication, the organization filter, idempotency
 * keys and every resource handler. See api.h for the security model and docs/API.md for the
 * routes. Every handler here runs on a defer-pool thread (its own connection); the loop-side
 * callback only hands the request over (openapi.json, static, is answered on the loop).
 */
#include "api/api.h"
#include "core/buf.h"
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

#define REPLY_CAP        (1024 * 1024)
#define IDEM_KEY_MAX     200
#define CRED_MAX         32
#define CRED_VALUE_MAX   (64 * 1024)

struct api_req {
    struct hub_http_job *job;
    struct hub_api_ctx  *ctx;
    struct hub_db       *db;
    int                  method;
    int64_t              org_id;          /* 0: operator token */
    char                 org[24];         /* org_id as text, for statement parameters */
    char                 role[16];
    struct hub_error     err;
    int                  status;
    struct hub_buf       body;
    char                 location[256];
};

typedef void (*api_fn)(struct api_req *r);

/* ---- replies --------------------------------------------------------------------------------- */

static void
reply_raw(struct api_req *r, int status, const char *json, size_t len)
{
    r->status = status;
    hub_buf_reset(&r->body);
    if (json != NULL && hub_buf_append(&r->body, json, len) < 0) {
        r->status = 500;
        hub_buf_reset(&r->body);
        hub_buf_puts(&r->body, "{\"error\":{\"code\":\"reply_too_large\",\"message\":"
                     "\"the answer is too large\",\"details\":null}}");
    }
}

/* {"error":{"code","message","details"}}; `details` is JSON text or NULL. */
static void api_error(struct api_req *r, int status, const char *code, const char *details,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
api_error(struct api_req *r, int status, const char *code, const char *details,
          const char *fmt, ...)
{
    char    msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    r->status = status;
    r->location[0] = '\0';
    hub_buf_reset(&r->body);
    hub_buf_puts(&r->body, "{\"error\":{\"code\":");
    hub_buf_json_str(&r->body, code, strlen(code));
    hub_buf_puts(&r->body, ",\"message\":");
    hub_buf_json_str(&r->body, msg, strlen(msg));
    hub_buf_printf(&r->body, ",\"details\":%s}}", details != NULL ? details : "null");
}

static void
internal(struct api_req *r, const char *what)
{
    hub_log_error("api", "%s: %s", what, r->err.msg);
    api_error(r, 500, "internal", NULL, "internal error");
}

static void
not_found(struct api_req *r, const char *what)
{
    api_error(r, 404, "not_found", NULL, "no such %s", what);
}

/* Run a statement; on failure answer 500 and return < 0. */
static int
q(struct api_req *r, const char *sql, int n, const char *const *p, PGresult **res)
{
    int rc = hub_db_query(r->db, sql, n, p, res, &r->err);

    if (rc < 0)
        internal(r, "query");
    return rc;
}

/* ---- request helpers --------------------------------------------------------------------------- */

/* Route parameter as a positive id (text kept for parameters). -1 when malformed. */
static int
param_id(struct api_req *r, const char *name, int64_t *out, char text[24])
{
    const char *s = hub_http_job_param(r->job, name);
    char       *end;
    long long   v;

    if (s == NULL || s[0] == '\0' || strlen(s) > 18 || !isdigit((unsigned char)s[0]))
        return -1;
    v = strtoll(s, &end, 10);
    if (*end != '\0' || v <= 0)
        return -1;
    *out = v;
    snprintf(text, 24, "%lld", v);
    return 0;
}

/* The body as a JSON object (*out owned by the caller: json_object_put). 400 otherwise. */
static int
body_object(struct api_req *r, json_object **out)
{
    const unsigned char *b;
    size_t               len;
    json_tokener        *tok;
    json_object         *o;

    b = hub_http_job_body(r->job, &len);
    if (len == 0 || len > REPLY_CAP) {
        api_error(r, 400, "invalid_body", NULL, "a JSON object body is required");
        return -1;
    }
    tok = json_tokener_new_ex(HUB_JSON_MAX_DEPTH);
    if (tok == NULL) {
        api_error(r, 500, "internal", NULL, "out of memory");
        return -1;
    }
    o = json_tokener_parse_ex(tok, (const char *)b, (int)len);
    if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
        (size_t)json_tokener_get_parse_end(tok) != len ||
        !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        json_tokener_free(tok);
        api_error(r, 400, "invalid_body", NULL, "the body is not one JSON object");
        return -1;
    }
    json_tokener_free(tok);
    *out = o;
    return 0;
}

/* Optional string member: NULL when absent; -1 (400 sent) when present but not a string. */
static int
member_str(struct api_req *r, json_object *o, const char *key, size_t max, const char **out)
{
    json_object *v;

    *out = NULL;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) < 1 ||
        (size_t)json_object_get_string_len(v) > max) {
        api_error(r, 422, "invalid_field", NULL, "%s must be a string of 1 to %zu characters",
                  key, max);
        return -1;
    }
    *out = json_object_get_string(v);
    return 0;
}

/* Optional object member serialized to JSON text (static storage of `o`). */
static int
member_obj(struct api_req *r, json_object *o, const char *key, const char **out)
{
    json_object *v;

    *out = NULL;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_object)) {
        api_error(r, 422, "invalid_field", NULL, "%s must be a JSON object", key);
        return -1;
    }
    *out = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
    return 0;
}

/* Validate the credentials object: string values, bounded. */
static int
check_credentials(struct api_req *r, json_object *o, json_object **out)
{
    json_object *c;
    size_t       n = 0;

    *out = NULL;
    if (!json_object_object_get_ex(o, "credentials", &c) || json_object_is_type(c, json_type_null))
        return 0;
    if (!json_object_is_type(c, json_type_object)) {
        api_error(r, 422, "invalid_field", NULL, "credentials must be an object of strings");
        return -1;
    }
    json_object_object_foreach(c, k, v) {
        size_t klen = strlen(k);

        if (++n > CRED_MAX || klen < 1 || klen > 200 || !json_object_is_type(v, json_type_string) ||
            (size_t)json_object_get_string_len(v) > CRED_VALUE_MAX) {
            api_error(r, 422, "invalid_field", NULL, "credentials: at most %d string values "
                      "of at most %d bytes, names of 1 to 200 characters", CRED_MAX,
                      CRED_VALUE_MAX);
            return -1;
        }
    }
    *out = c;
    return 0;
}

static int
store_credentials(struct api_req *r, int64_t id, json_object *creds)
{
    int rc;

    if (creds == NULL)
        return 0;
    if (r->ctx->keys == NULL) {
        api_error(r, 503, "no_master_key", NULL, "the hub has no master key to seal credentials");
        return -1;
    }
    json_object_object_foreach(creds, k, v) {
        rc = hub_secret_store(r->db, r->ctx->keys, id, k, json_object_get_string(v),
                              (size_t)json_object_get_string_len(v), &r->err);
        if (rc < 0) {
            internal(r, "sealing credentials");
            return -1;
        }
    }
    return 0;
}

/* ---- pagination ------------------------------------------------------------------------------- */

struct page {
    int     limit;
    char    limit1[16];       /* limit + 1, text */
    char    after[24];        /* cursor id, text */
    struct hub_oauth_params qp;
};

/* Parse ?limit=&cursor= (and keep the other parameters for filters). 400 on a bad value. */
static int
page_parse(struct api_req *r, struct page *pg, int desc)
{
    const char *s;
    char       *end;
    long        v;
    uint8_t     raw[24];
    size_t      n = 0;
    struct hub_error e;

    memset(pg, 0, sizeof(*pg));
    if (hub_oauth_params_parse(hub_http_job_query(r->job), &pg->qp, &e) < 0) {
        api_error(r, 400, "invalid_query", NULL, "%s", e.msg);
        return -1;
    }
    pg->limit = HUB_API_LIMIT_DEFAULT;
    s = hub_oauth_param(&pg->qp, "limit");
    if (s != NULL) {
        v = strtol(s, &end, 10);
        if (end == s || *end != '\0' || v < 1 || v > HUB_API_LIMIT_MAX) {
            api_error(r, 400, "invalid_query", NULL, "limit must be 1 to %d",
                      HUB_API_LIMIT_MAX);
            return -1;
        }
        pg->limit = (int)v;
    }
    snprintf(pg->limit1, sizeof(pg->limit1), "%d", pg->limit + 1);
    snprintf(pg->after, sizeof(pg->after), "%s", desc ? "9223372036854775807" : "0");
    s = hub_oauth_param(&pg->qp, "cursor");
    if (s != NULL) {
        long long id;

        /* The cursor is opaque to clients: base64url of "c<id>". */
        if (strlen(s) > 32 || hub_crypto_b64_decode(s, strlen(s), HUB_B64_URL | HUB_B64_NOPAD,
                                                    raw, sizeof(raw) - 1, &n, &e) < 0 ||
            n < 2 || raw[0] != 'c') {
            api_error(r, 400, "invalid_cursor", NULL, "the cursor is not one this API gave");
            return -1;
        }
        raw[n] = '\0';
        id = strtoll((char *)raw + 1, &end, 10);
        if (*end != '\0' || id <= 0) {
            api_error(r, 400, "invalid_cursor", NULL, "the cursor is not one this API gave");
            return -1;
        }
        snprintf(pg->after, sizeof(pg->after), "%lld", id);
    }
    return 0;
}

/* Rows (id, json) -> {"data":[...],"next_cursor":...}. */
static void
page_reply(struct api_req *r, struct page *pg, PGresult *res)
{
    int  i, n = PQntuples(res), shown = n > pg->limit ? pg->limit : n;
    char cur[32], enc[64];

    hub_buf_reset(&r->body);
    hub_buf_puts(&r->body, "{\"data\":[");
    for (i = 0; i < shown; i++) {
        if (i > 0)
            hub_buf_puts(&r->body, ",");
        hub_buf_puts(&r->body, PQgetvalue(res, i, 1));
    }
    hub_buf_puts(&r->body, "],\"next_cursor\":");
    if (n > pg->limit && shown > 0) {
        snprintf(cur, sizeof(cur), "c%s", PQgetvalue(res, shown - 1, 0));
        hub_crypto_b64_encode(cur, strlen(cur), HUB_B64_URL | HUB_B64_NOPAD, enc, sizeof(enc),
                              NULL);
        hub_buf_printf(&r->body, "\"%s\"}", enc);
    } else {
        hub_buf_puts(&r->body, "null}");
    }
    if (hub_buf_puts(&r->body, "") < 0 || r->body.len >= REPLY_CAP)
        api_error(r, 500, "reply_too_large", NULL, "the page is too large: ask a smaller limit");
    else
        r->status = 200;
}

static void
page_free(struct page *pg)
{
    hub_oauth_params_free(&pg->qp);
}

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

    if (q(r, "SELECT " INTEG_JSON " FROM integrations i WHERE i.id = $1::bigint AND "
          "i.organization_id = $2::bigint AND i.deleted_at IS NULL", 2, p, &res) < 0)
        return;
    if (PQntuples(res) == 0)
        not_found(r, "integration");
    else
        reply_raw(r, status, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
}

/* The integration `{id}` of the token's organization: platform and config in *out_res
 * (caller clears). 404 answered when it is not one. */
static int
own_integration(struct api_req *r, int64_t *id, char ids[24], PGresult **out_res)
{
    const char *p[2] = { ids, r->org };

    if (param_id(r, "id", id, ids) < 0) {
        not_found(r, "integration");
        return -1;
    }
    if (q(r, "SELECT platform, config::text, status FROM integrations WHERE id = $1::bigint "
          "AND organization_id = $2::bigint AND deleted_at IS NULL", 2, p, out_res) < 0)
        return -1;
    if (PQntuples(*out_res) == 0) {
        PQclear(*out_res);
        *out_res = NULL;
        not_found(r, "integration");
        return -1;
    }
    return 0;
}

static void
h_integrations_list(struct api_req *r)
{
    struct page pg;
    const char *p[3];
    PGresult   *res = NULL;

    if (page_parse(r, &pg, 0) < 0)
        goto out;
    p[0] = r->org;
    p[1] = pg.after;
    p[2] = pg.limit1;
    if (q(r, "SELECT i.id, " INTEG_JSON " FROM integrations i WHERE i.organization_id = "
          "$1::bigint AND i.deleted_at IS NULL AND i.id > $2::bigint ORDER BY i.id LIMIT $3::int",
          3, p, &res) == 0)
        page_reply(r, &pg, res);
out:
    PQclear(res);
    page_free(&pg);
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

static void
h_integrations_create(struct api_req *r)
{
    json_object *o = NULL, *creds = NULL;
    const char  *platform, *name, *config, *settings, *auth, *p[7];
    PGresult    *res = NULL;
    char         ids[24];
    int64_t      id;
    int          found;

    if (body_object(r, &o) < 0)
        return;
    if (member_str(r, o, "platform", 64, &platform) < 0 || member_str(r, o, "name", 200, &name) < 0 ||
        member_obj(r, o, "config", &config) < 0 ||
        member_obj(r, o, "sync_settings", &settings) < 0 || check_credentials(r, o, &creds) < 0)
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
        internal(r, "begin");
        goto out;
    }
    if (q(r, "INSERT INTO integrations (organization_id, platform, name, config, sync_settings, "
          "status, auth_type) VALUES ($1::bigint, $2, $3, $4::jsonb, $5::jsonb, $6, $7) "
          "RETURNING id", 7, p, &res) < 0)
        goto rollback;
    id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    if (store_credentials(r, id, creds) < 0)
        goto rollback;
    if (hub_db_commit(r->db, &r->err) < 0) {
        internal(r, "commit");
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

static void
h_integration_get(struct api_req *r)
{
    int64_t id;
    char    ids[24];

    if (param_id(r, "id", &id, ids) < 0)
        not_found(r, "integration");
    else
        integration_reply(r, ids, 200);
}

static void
h_integration_patch(struct api_req *r)
{
    json_object *o = NULL, *creds = NULL;
    const char  *name, *config, *settings, *p[5];
    PGresult    *res = NULL;
    char         ids[24];
    int64_t      id;

    if (param_id(r, "id", &id, ids) < 0) {
        not_found(r, "integration");
        return;
    }
    if (body_object(r, &o) < 0)
        return;
    if (member_str(r, o, "name", 200, &name) < 0 || member_obj(r, o, "config", &config) < 0 ||
        member_obj(r, o, "sync_settings", &settings) < 0 || check_credentials(r, o, &creds) < 0)
        goto out;
    p[0] = ids;
    p[1] = r->org;
    p[2] = name;
    p[3] = config;
    p[4] = settings;
    if (hub_db_begin(r->db, &r->err) < 0) {
        internal(r, "begin");
        goto out;
    }
    if (q(r, "UPDATE integrations SET name = coalesce($3, name), config = coalesce($4::jsonb, "
          "config), sync_settings = coalesce($5::jsonb, sync_settings) WHERE id = $1::bigint "
          "AND organization_id = $2::bigint AND deleted_at IS NULL RETURNING id", 5, p,
          &res) < 0)
        goto rollback;
    if (PQntuples(res) == 0) {
        not_found(r, "integration");
        goto rollback;
    }
    if (store_credentials(r, id, creds) < 0)
        goto rollback;
    if (hub_db_commit(r->db, &r->err) < 0) {
        internal(r, "commit");
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

    if (own_integration(r, &id, ids, &res) < 0)
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
    if (q(r, pause ? "UPDATE integrations SET status = 'PAUSED' WHERE id = $1::bigint AND "
                     "organization_id = $2::bigint AND deleted_at IS NULL" :
                     "UPDATE integrations SET status = 'ACTIVE' WHERE id = $1::bigint AND "
                     "organization_id = $2::bigint AND deleted_at IS NULL AND status = 'PAUSED'",
          2, p, &res) == 0)
        integration_reply(r, ids, 200);
    PQclear(res);
}

static void
h_pause(struct api_req *r)
{
    set_status(r, 1);
}

static void
h_resume(struct api_req *r)
{
    set_status(r, 0);
}

static void
h_integration_delete(struct api_req *r)
{
    PGresult   *res = NULL;
    const char *p[2];
    char        ids[24];
    int64_t     id;

    if (param_id(r, "id", &id, ids) < 0) {
        not_found(r, "integration");
        return;
    }
    p[0] = ids;
    p[1] = r->org;
    if (q(r, "UPDATE integrations SET deleted_at = now(), status = 'DISCONNECTED' WHERE id = "
          "$1::bigint AND organization_id = $2::bigint AND deleted_at IS NULL", 2, p, &res) < 0)
        return;
    if (strcmp(PQcmdTuples(res), "1") != 0) {
        not_found(r, "integration");
    } else {
        if (r->ctx->sync != NULL)
            hub_sync_forget(r->ctx->sync, id);
        reply_raw(r, 204, NULL, 0);
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

static void
h_test(struct api_req *r)
{
    struct hub_runtime  *rt = runtime_of(r);
    struct hub_instance *inst = NULL;
    PGresult            *res = NULL;
    struct hub_buf       b;
    char                 ids[24];
    int64_t              id;
    int                  rc;

    if (own_integration(r, &id, ids, &res) < 0)
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
    reply_raw(r, 200, b.data, b.len);
    hub_buf_free(&b);
}

static void
h_oauth_start(struct api_req *r)
{
    struct hub_runtime *rt = runtime_of(r);
    PGresult           *res = NULL;
    struct hub_buf      b;
    char                ids[24], *url = NULL;
    int64_t             id;
    int                 rc;

    if (own_integration(r, &id, ids, &res) < 0)
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
        reply_raw(r, 200, b.data, b.len);
        hub_buf_free(&b);
    }
    free(url);
}

/* ---- syncs ------------------------------------------------------------------------------------ */

#define LOG_JSON                                                                            \
    "json_build_object('id', l.id, 'job_id', l.job_id, 'entity', l.entity, 'direction', "   \
    "l.direction, 'mode', l.type, 'status', l.status, 'processed', l.processed, 'created', " \
    "l.created, 'updated', l.updated, 'deleted', l.deleted, 'skipped', l.skipped, 'failed', " \
    "l.failed, 'conflicts', l.conflicts, 'pages', l.pages, 'started_at', l.started_at, "              \
    "'finished_at', l.finished_at, 'duration_ms', l.duration_ms, 'elapsed_s', "             \
    "round(extract(epoch FROM coalesce(l.finished_at, now()) - l.started_at)::numeric, 3), " \
    "'rate', CASE WHEN extract(epoch FROM coalesce(l.finished_at, now()) - l.started_at) > 0 " \
    "THEN round((l.processed / extract(epoch FROM coalesce(l.finished_at, now()) - "        \
    "l.started_at))::numeric, 1) ELSE 0 END"

static void
h_syncs_create(struct api_req *r)
{
    json_object *o = NULL;
    const char  *entity, *direction, *mode;
    PGresult    *res = NULL;
    char         ids[24];
    int64_t      id, job = 0;
    int          rc;

    if (own_integration(r, &id, ids, &res) < 0)
        return;
    PQclear(res);
    if (body_object(r, &o) < 0)
        return;
    if (member_str(r, o, "entity", 32, &entity) < 0 ||
        member_str(r, o, "direction", 16, &direction) < 0 ||
        member_str(r, o, "mode", 16, &mode) < 0)
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
        internal(r, "enqueue");
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

static void
h_syncs_list(struct api_req *r)
{
    struct page pg;
    PGresult   *res = NULL;
    const char *p[5], *job, *entity;
    char        ids[24];
    int64_t     id;

    if (own_integration(r, &id, ids, &res) < 0)
        return;
    PQclear(res);
    res = NULL;
    if (page_parse(r, &pg, 1) < 0)
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
    if (q(r, "SELECT l.id, " LOG_JSON ")::text FROM integration_sync_logs l WHERE "
          "l.integration_id = $1::bigint AND l.id < $2::bigint AND ($4::bigint IS NULL OR "
          "l.job_id = $4::bigint) AND ($5::text IS NULL OR l.entity = $5) ORDER BY l.id DESC "
          "LIMIT $3::int", 5, p, &res) == 0)
        page_reply(r, &pg, res);
out:
    PQclear(res);
    page_free(&pg);
}

static void
h_sync_get(struct api_req *r)
{
    PGresult   *res = NULL;
    const char *p[2];
    char        ids[24], lids[24];
    int64_t     id, lid;

    if (own_integration(r, &id, ids, &res) < 0)
        return;
    PQclear(res);
    res = NULL;
    if (param_id(r, "log_id", &lid, lids) < 0) {
        not_found(r, "sync run");
        return;
    }
    p[0] = ids;
    p[1] = lids;
    if (q(r, "SELECT " LOG_JSON ", 'cursor', l.cursor, 'error_details', l.error_details)::text "
          "FROM integration_sync_logs l WHERE l.integration_id = $1::bigint AND l.id = "
          "$2::bigint", 2, p, &res) < 0)
        return;
    if (PQntuples(res) == 0)
        not_found(r, "sync run");
    else
        reply_raw(r, 200, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
}

static void
h_mappings(struct api_req *r)
{
    struct page pg;
    PGresult   *res = NULL;
    const char *p[4];
    char        ids[24];
    int64_t     id;

    if (own_integration(r, &id, ids, &res) < 0)
        return;
    PQclear(res);
    res = NULL;
    if (page_parse(r, &pg, 0) < 0)
        goto out;
    p[0] = ids;
    p[1] = pg.after;
    p[2] = pg.limit1;
    p[3] = hub_oauth_param(&pg.qp, "entity");
    if (q(r, "SELECT m.id, json_build_object('id', m.id, 'entity', m.entity, 'internal_id', "
          "m.internal_id, 'external_id', m.external_id, 'external_updated_at', "
          "m.external_updated_at, 'internal_updated_at', m.internal_updated_at, "
          "'last_synced_at', m.last_synced_at, 'last_direction', m.last_direction, "
          "'created_at', m.created_at)::text FROM integration_mappings m WHERE "
          "m.integration_id = $1::bigint AND m.id > $2::bigint AND ($4::text IS NULL OR "
          "m.entity = $4) ORDER BY m.id LIMIT $3::int", 4, p, &res) == 0)
        page_reply(r, &pg, res);
out:
    PQclear(res);
    page_free(&pg);
}

static void
h_health(struct api_req *r)
{
    PGresult   *res = NULL;
    const char *p[2];
    char        ids[24];
    int64_t     id;

    if (param_id(r, "id", &id, ids) < 0) {
        not_found(r, "integration");
        return;
    }
    p[0] = ids;
    p[1] = r->org;
    if (q(r, "SELECT json_build_object('integration_id', i.id, 'status', i.status, "
          "'last_sync_at', i.last_sync_at, 'last_success_at', i.last_success_at, "
          "'last_error_at', i.last_error_at, 'last_error_message', i.last_error_message, "
          "'sync_count', i.sync_count, 'error_count', i.error_count, "
          "'recent_runs', w.n, 'recent_completed', w.ok, 'recent_success_rate', "
          "CASE WHEN w.n = 0 THEN NULL ELSE round(w.ok::numeric / w.n, 4) END, "
          "'running', (SELECT count(*) FROM integration_sync_logs WHERE integration_id = i.id "
          "AND status = 'RUNNING'), "
          "'mappings', (SELECT coalesce(json_object_agg(entity, n), '{}'::json) FROM (SELECT "
          "entity, count(*) AS n FROM integration_mappings WHERE integration_id = i.id GROUP BY "
          "entity) m), "
          "'webhook_events', (SELECT coalesce(json_object_agg(status, n), '{}'::json) FROM "
          "(SELECT status, count(*) AS n FROM integration_webhook_events WHERE integration_id = "
          "i.id GROUP BY status) e), "
          /* The seed's KPIs as figures, each next to its target. */
          "'kpis', json_build_object("
          "  'sync_success_rate', CASE WHEN w.n = 0 THEN NULL ELSE round(w.ok::numeric / w.n, 4) END, "
          "  'sync_success_target', 0.98, "
          "  'webhook_processing_p95_s', (SELECT round(percentile_cont(0.95) WITHIN GROUP (ORDER BY "
          "    extract(epoch FROM processed_at - received_at))::numeric, 3) FROM (SELECT processed_at, "
          "    received_at FROM integration_webhook_events WHERE integration_id = i.id AND status = "
          "    'PROCESSED' AND processed_at IS NOT NULL ORDER BY id DESC LIMIT 1000) k), "
          "  'webhook_processing_target_s', 1.0, "
          "  'webhook_events_failed', (SELECT count(*) FROM integration_webhook_events WHERE "
          "    integration_id = i.id AND status = 'FAILED'), "
          "  'webhook_oldest_pending_s', (SELECT round(extract(epoch FROM now() - min(received_at))"
          "    ::numeric, 1) FROM integration_webhook_events WHERE integration_id = i.id AND status "
          "    IN ('PENDING', 'PROCESSING'))))::text "
          "FROM integrations i, LATERAL (SELECT count(*) AS n, "
          "count(*) FILTER (WHERE status = 'COMPLETED') AS ok FROM (SELECT status FROM "
          "integration_sync_logs WHERE integration_id = i.id AND status <> 'RUNNING' ORDER BY "
          "id DESC LIMIT 100) x) w WHERE i.id = $1::bigint AND i.organization_id = $2::bigint "
          "AND i.deleted_at IS NULL", 2, p, &res) < 0)
        return;
    if (PQntuples(res) == 0)
        not_found(r, "integration");
    else
        reply_raw(r, 200, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
}

/* ---- webhook events --------------------------------------------------------------------------- */

/* The public shape of a webhook event: never its headers, body, signature or source address
 * (they may carry the platform's signatures and the shop's data). */
#define EVENT_JSON                                                                          \
    "json_build_object('id', e.id, 'received_at', e.received_at, 'topic', e.topic, "        \
    "'delivery_id', e.delivery_id, 'status', e.status, 'attempts', e.attempts, "            \
    "'last_error', e.last_error, 'processed_at', e.processed_at)::text"

static int
event_status_ok(const char *s)
{
    static const char *const ok[] = { "PENDING", "PROCESSING", "PROCESSED", "FAILED", "SKIPPED" };
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (strcmp(s, ok[i]) == 0)
            return 1;
    }
    return 0;
}

static void
h_events_list(struct api_req *r)
{
    struct page pg;
    PGresult   *res = NULL;
    const char *p[4], *status;
    char        ids[24];
    int64_t     id;

    if (own_integration(r, &id, ids, &res) < 0)
        return;
    PQclear(res);
    res = NULL;
    if (page_parse(r, &pg, 1) < 0)
        goto out;
    status = hub_oauth_param(&pg.qp, "status");
    if (status != NULL && !event_status_ok(status)) {
        api_error(r, 400, "invalid_query", NULL, "status is PENDING, PROCESSING, PROCESSED, "
                  "FAILED or SKIPPED");
        goto out;
    }
    p[0] = ids;
    p[1] = pg.after;
    p[2] = pg.limit1;
    p[3] = status;
    if (q(r, "SELECT e.id, " EVENT_JSON " FROM integration_webhook_events e WHERE "
          "e.integration_id = $1::bigint AND e.id < $2::bigint AND ($4::text IS NULL OR "
          "e.status = $4) ORDER BY e.id DESC LIMIT $3::int", 4, p, &res) == 0)
        page_reply(r, &pg, res);
out:
    PQclear(res);
    page_free(&pg);
}

static void
h_event_get(struct api_req *r)
{
    PGresult   *res = NULL;
    const char *p[2];
    char        ids[24], eids[24];
    int64_t     id, eid;

    if (own_integration(r, &id, ids, &res) < 0)
        return;
    PQclear(res);
    res = NULL;
    if (param_id(r, "event_id", &eid, eids) < 0) {
        not_found(r, "webhook event");
        return;
    }
    p[0] = ids;
    p[1] = eids;
    if (q(r, "SELECT " EVENT_JSON " FROM integration_webhook_events e WHERE e.integration_id = "
          "$1::bigint AND e.id = $2::bigint", 2, p, &res) < 0)
        return;
    if (PQntuples(res) == 0)
        not_found(r, "webhook event");
    else
        reply_raw(r, 200, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
}

static int
digits(const char *s, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

/* RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM). Only the shape: PostgreSQL
 * checks the calendar (rfc3339_valid). */
static int
rfc3339_shape(const char *s)
{
    size_t len = strlen(s), i = 19;

    if (len < 20 || len > 40 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) ||
        s[7] != '-' || !digits(s + 8, 2) || (s[10] != 'T' && s[10] != 't') ||
        !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' ||
        !digits(s + 17, 2))
        return 0;
    if (s[i] == '.') {
        i++;
        if (!isdigit((unsigned char)s[i]))
            return 0;
        while (isdigit((unsigned char)s[i]))
            i++;
    }
    if ((s[i] == 'Z' || s[i] == 'z') && s[i + 1] == '\0')
        return 1;
    return (s[i] == '+' || s[i] == '-') && len - i == 6 && digits(s + i + 1, 2) &&
           s[i + 3] == ':' && digits(s + i + 4, 2);
}

/* since / until: RFC 3339 that PostgreSQL accepts as a timestamptz. 422 answered otherwise. */
static int
rfc3339_valid(struct api_req *r, const char *since, const char *until)
{
    const char      *p[2] = { since, until };
    struct hub_error e;
    PGresult        *res = NULL;

    if ((since != NULL && !rfc3339_shape(since)) || (until != NULL && !rfc3339_shape(until)))
        goto bad;
    /* A failed cast here is the client's mistake, not a 500 (no transaction is open). */
    if (hub_db_query(r->db, "SELECT $1::timestamptz, $2::timestamptz", 2, p, &res, &e) < 0)
        goto bad;
    PQclear(res);
    return 0;
bad:
    api_error(r, 422, "invalid_field", NULL, "since and until are RFC 3339 date-times "
              "(2026-01-31T12:00:00Z)");
    return -1;
}

static void
h_events_replay(struct api_req *r)
{
    struct hub_webhook_filter f;
    json_object              *o = NULL, *v;
    const char               *since, *until, *p[2];
    PGresult                 *res = NULL;
    char                      ids[24], eids[24];
    int64_t                   id, n = 0;
    int                       has_event;

    if (own_integration(r, &id, ids, &res) < 0)
        return;
    PQclear(res);
    res = NULL;
    if (body_object(r, &o) < 0)
        return;
    memset(&f, 0, sizeof(f));
    f.integration_id = id;     /* never another integration's (or organization's) events */
    has_event = json_object_object_get_ex(o, "event_id", &v) &&
                !json_object_is_type(v, json_type_null);
    if (has_event) {
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) <= 0) {
            api_error(r, 422, "invalid_field", NULL, "event_id must be a positive integer");
            goto out;
        }
        f.event_id = json_object_get_int64(v);
    }
    if (member_str(r, o, "since", 40, &since) < 0 || member_str(r, o, "until", 40, &until) < 0)
        goto out;
    if (has_event == (since != NULL || until != NULL)) {
        api_error(r, 422, "missing_field", "{\"one_of\":[[\"event_id\"],[\"since\",\"until\"]]}",
                  "give either event_id, or since and/or until");
        goto out;
    }
    if (has_event) {
        snprintf(eids, sizeof(eids), "%" PRId64, f.event_id);
        p[0] = ids;
        p[1] = eids;
        if (q(r, "SELECT 1 FROM integration_webhook_events WHERE integration_id = $1::bigint "
              "AND id = $2::bigint", 2, p, &res) < 0)
            goto out;
        if (PQntuples(res) == 0) {
            not_found(r, "webhook event");
            goto out;
        }
    } else {
        if (rfc3339_valid(r, since, until) < 0)
            goto out;
        f.since = since;
        f.until = until;
    }
    if (hub_webhook_replay(r->db, &f, &n, &r->err) < 0) {
        internal(r, "webhook replay");
        goto out;
    }
    hub_log_info("api", "organization %s replayed %" PRId64 " webhook event(s) of integration %s",
                 r->org, n, ids);
    hub_buf_reset(&r->body);
    hub_buf_printf(&r->body, "{\"integration_id\":%" PRId64 ",\"replayed\":%" PRId64
                   ",\"status\":\"queued\"}", id, n);
    r->status = 202;
out:
    PQclear(res);
    json_object_put(o);
}

/* ---- Simplix records ---------------------------------------------------------------------------- */

static void
org_list(struct api_req *r, const char *sql)
{
    struct page pg;
    const char *p[3];
    PGresult   *res = NULL;

    if (page_parse(r, &pg, 0) < 0)
        goto out;
    p[0] = r->org;
    p[1] = pg.after;
    p[2] = pg.limit1;
    if (q(r, sql, 3, p, &res) == 0)
        page_reply(r, &pg, res);
out:
    PQclear(res);
    page_free(&pg);
}

static void
h_companies(struct api_req *r)
{
    org_list(r, "SELECT c.id, row_to_json(c)::text FROM (SELECT id, name, contact_first_name, "
             "contact_last_name, email, phone, address_line1, address_line2, city, region, "
             "postal_code, country_code, tax_id, tax_exempt, currency, origin_integration_id, "
             "created_at, updated_at FROM companies WHERE organization_id = $1::bigint AND id > "
             "$2::bigint ORDER BY id LIMIT $3::int) c ORDER BY c.id");
}

static void
h_products(struct api_req *r)
{
    org_list(r, "SELECT c.id, row_to_json(c)::text FROM (SELECT id, parent_id, name, "
             "description, sku, barcode, vendor, price_minor, currency, stock, taxable, status, "
             "origin_integration_id, created_at, updated_at FROM products WHERE "
             "organization_id = $1::bigint AND id > $2::bigint ORDER BY id LIMIT $3::int) c "
             "ORDER BY c.id");
}

static void
h_invoices(struct api_req *r)
{
    org_list(r, "SELECT c.id, row_to_json(c)::text FROM (SELECT v.id, v.company_id, v.number, "
             "v.status, v.currency, v.taxes_included, v.subtotal_minor, v.discount_minor, "
             "v.shipping_minor, v.tax_minor, v.total_minor, v.refunded_minor, v.issued_at, "
             "v.due_at, v.paid_at, v.cancelled_at, v.origin_integration_id, v.created_at, "
             "v.updated_at, (SELECT coalesce(json_agg(json_build_object('id', l.id, 'kind', "
             "l.kind, 'description', l.description, 'sku', l.sku, 'product_id', l.product_id, "
             "'quantity', l.quantity, 'unit_price_minor', l.unit_price_minor, 'total_minor', "
             "l.total_minor) ORDER BY l.position, l.id), '[]'::json) FROM invoice_lines l WHERE "
             "l.invoice_id = v.id) AS lines FROM invoices v WHERE v.organization_id = $1::bigint "
             "AND v.id > $2::bigint ORDER BY v.id LIMIT $3::int) c ORDER BY c.id");
}

/* ---- connectors -------------------------------------------------------------------------------- */

struct describe_acc {
    struct hub_buf *b;
    int             n;
    int             rc;
};

static void
describe_one(const struct hub_plugin *p, void *arg)
{
    struct describe_acc *a = arg;

    if (a->rc < 0)
        return;
    if (a->n++ > 0)
        a->rc = hub_buf_puts(a->b, ",");
    if (a->rc == 0)
        a->rc = hub_plugin_describe_json(p, a->b);
}

static void
h_connectors(struct api_req *r)
{
    struct describe_acc a = { &r->body, 0, 0 };

    hub_buf_reset(&r->body);
    hub_buf_puts(&r->body, "{\"data\":[");
    hub_plugins_foreach(r->ctx->plugins, describe_one, &a);
    if (a.rc < 0 || hub_buf_puts(&r->body, "]}") < 0) {
        api_error(r, 500, "internal", NULL, "could not describe the connectors");
        return;
    }
    r->status = 200;
}

/* ---- organizations (operator tokens) ----------------------------------------------------------- */

#define ORG_JSON                                                                            \
    "json_build_object('id', o.id, 'name', o.name, 'currency', o.currency, 'created_at', "  \
    "o.created_at, 'updated_at', o.updated_at, 'integrations', (SELECT count(*) FROM "      \
    "integrations i WHERE i.organization_id = o.id AND i.deleted_at IS NULL))::text"

static void
org_reply(struct api_req *r, const char *ids, int status)
{
    const char *p[1] = { ids };
    PGresult   *res = NULL;

    if (q(r, "SELECT " ORG_JSON " FROM organizations o WHERE o.id = $1::bigint", 1, p,
          &res) < 0)
        return;
    if (PQntuples(res) == 0)
        not_found(r, "organization");
    else
        reply_raw(r, status, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
}

static void
h_orgs_list(struct api_req *r)
{
    struct page pg;
    const char *p[2];
    PGresult   *res = NULL;

    if (page_parse(r, &pg, 0) < 0)
        goto out;
    p[0] = pg.after;
    p[1] = pg.limit1;
    if (q(r, "SELECT o.id, " ORG_JSON " FROM organizations o WHERE o.id > $1::bigint ORDER BY "
          "o.id LIMIT $2::int", 2, p, &res) == 0)
        page_reply(r, &pg, res);
out:
    PQclear(res);
    page_free(&pg);
}

static void
h_orgs_create(struct api_req *r)
{
    json_object *o = NULL;
    const char  *name, *currency, *p[2];
    PGresult    *res = NULL;
    char         ids[24];

    if (body_object(r, &o) < 0)
        return;
    if (member_str(r, o, "name", 300, &name) < 0 || member_str(r, o, "currency", 3, &currency) < 0)
        goto out;
    if (name == NULL) {
        api_error(r, 422, "missing_field", "{\"required\":[\"name\"]}", "name is required");
        goto out;
    }
    if (currency != NULL && (strlen(currency) != 3 || !isupper((unsigned char)currency[0]) ||
                             !isupper((unsigned char)currency[1]) ||
                             !isupper((unsigned char)currency[2]))) {
        api_error(r, 422, "invalid_field", NULL, "currency is an ISO 4217 code (EUR)");
        goto out;
    }
    p[0] = name;
    p[1] = currency;
    if (q(r, "INSERT INTO organizations (name, currency) VALUES ($1, coalesce($2, 'EUR')) "
          "RETURNING id", 2, p, &res) < 0)
        goto out;
    snprintf(ids, sizeof(ids), "%s", PQgetvalue(res, 0, 0));
    hub_log_info("api", "operator created organization %s", ids);
    org_reply(r, ids, 201);
    if (r->status == 201)
        snprintf(r->location, sizeof(r->location), HUB_API_PREFIX "/organizations/%s", ids);
out:
    PQclear(res);
    json_object_put(o);
}

static void
h_org_get(struct api_req *r)
{
    int64_t id;
    char    ids[24];

    if (param_id(r, "org_id", &id, ids) < 0)
        not_found(r, "organization");
    else
        org_reply(r, ids, 200);
}

/* ---- marketplace (operator tokens) ---------------------------------------------------------------- */

static int
market_cfg(struct api_req *r, struct hub_market_cfg *mc)
{
    mc->marketplace_dir = r->ctx->marketplace_dir;
    mc->trust_path = r->ctx->marketplace_trust;
    mc->plugin_dir = r->ctx->plugin_dir;
    mc->actor = "api";
    if (mc->marketplace_dir == NULL || mc->marketplace_dir[0] == '\0') {
        api_error(r, 503, "unavailable", NULL, "this hub has no marketplace folder "
                  "(SX_MARKETPLACE_DIR)");
        return -1;
    }
    return 0;
}

static void
market_error(struct api_req *r, int rc, const char *msg)
{
    switch (rc) {
    case HUB_E_NOT_FOUND: api_error(r, 404, "not_found", NULL, "%s", msg); break;
    case HUB_E_CONFLICT:  api_error(r, 409, "conflict", NULL, "%s", msg); break;
    case HUB_E_SIGNATURE:
    case HUB_E_REJECTED:
    case HUB_E_PLUGIN:
    case HUB_E_PLUGIN_ABI:
    case HUB_E_INVALID:   api_error(r, 422, "package_refused", NULL, "%s", msg); break;
    default:              api_error(r, 500, "internal", NULL, "%s", msg); break;
    }
}

/* {connector_id}: [a-z0-9_]{1,64}. */
static const char *
market_id(struct api_req *r)
{
    const char *id = hub_http_job_param(r->job, "connector_id");
    size_t      i, n = id != NULL ? strlen(id) : 0;

    for (i = 0; i < n; i++) {
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') || id[i] == '_'))
            break;
    }
    if (n == 0 || n > 64 || i < n) {
        not_found(r, "connector");
        return NULL;
    }
    return id;
}

static void
market_reply(struct api_req *r, const char *id, const char *version, const char *status)
{
    struct hub_buf b;

    hub_buf_init(&b, 4096);
    hub_buf_puts(&b, "{\"id\":");
    hub_buf_json_str(&b, id, strlen(id));
    hub_buf_puts(&b, ",\"version\":");
    if (version != NULL)
        hub_buf_json_str(&b, version, strlen(version));
    else
        hub_buf_puts(&b, "null");
    hub_buf_printf(&b, ",\"status\":\"%s\",\"note\":\"the hubs switch within a few seconds\"}",
                   status);
    reply_raw(r, 200, b.data, b.len);
    hub_buf_free(&b);
}

static void
h_market_list(struct api_req *r)
{
    struct hub_market_cfg mc;
    struct hub_buf        b;
    struct hub_error      e;
    int                   rc;

    if (market_cfg(r, &mc) < 0)
        return;
    hub_buf_init(&b, 16 << 20);
    rc = hub_market_list_json(r->db, &mc, &b, &e);
    if (rc < 0)
        market_error(r, rc, e.msg);
    else
        reply_raw(r, 200, b.data, b.len);
    hub_buf_free(&b);
}

static void
h_market_install(struct api_req *r)
{
    struct hub_market_cfg mc;
    struct hub_error      e;
    json_object          *o = NULL, *v;
    const char           *id, *version = NULL;
    char                  got[65] = "";
    size_t                len = 0;
    int                   rc, upgrade = 0;

    if (market_cfg(r, &mc) < 0 || (id = market_id(r)) == NULL)
        return;
    (void)hub_http_job_body(r->job, &len);
    if (len > 0) {
        if (body_object(r, &o) < 0)
            return;
        if (member_str(r, o, "version", 64, &version) < 0)
            goto out;
        if (json_object_object_get_ex(o, "upgrade", &v)) {
            if (!json_object_is_type(v, json_type_boolean)) {
                api_error(r, 422, "invalid_field", NULL, "upgrade is true or false");
                goto out;
            }
            upgrade = json_object_get_boolean(v);
        }
    }
    rc = hub_market_install(r->db, &mc, id, version, upgrade, got, sizeof(got), &e);
    if (rc < 0)
        market_error(r, rc, e.msg);
    else
        market_reply(r, id, got, "active");
out:
    json_object_put(o);
}

static void
h_market_rollback(struct api_req *r)
{
    struct hub_market_cfg mc;
    struct hub_error      e;
    const char           *id;
    char                  got[65] = "";
    int                   rc;

    if (market_cfg(r, &mc) < 0 || (id = market_id(r)) == NULL)
        return;
    rc = hub_market_rollback(r->db, &mc, id, got, sizeof(got), &e);
    if (rc < 0)
        market_error(r, rc, e.msg);
    else
        market_reply(r, id, got, "active");
}

static void
h_market_remove(struct api_req *r)
{
    struct hub_market_cfg mc;
    struct hub_error      e;
    const char           *id, *qs = hub_http_job_query(r->job);
    int                   rc;

    if (market_cfg(r, &mc) < 0 || (id = market_id(r)) == NULL)
        return;
    rc = hub_market_remove(r->db, &mc, id, qs != NULL && strstr(qs, "force=true") != NULL, &e);
    if (rc < 0)
        market_error(r, rc, e.msg);
    else
        market_reply(r, id, NULL, "removed");
}

/* ---- the route table ----------------------------------------------------------------------------- */

enum { R_OPENAPI = 0 };

static const struct hub_api_route routes[] = {
    { HUB_M_GET,                              HUB_API_PREFIX "/openapi.json" },
    { HUB_M_GET,                              HUB_API_PREFIX "/connectors" },
    { HUB_M_GET | HUB_M_POST,                 HUB_API_PREFIX "/integrations" },
    { HUB_M_GET | HUB_M_PATCH | HUB_M_DELETE, HUB_API_PREFIX "/integrations/{id}" },
    { HUB_M_POST,                             HUB_API_PREFIX "/integrations/{id}/pause" },
    { HUB_M_POST,                             HUB_API_PREFIX "/integrations/{id}/resume" },
    { HUB_M_POST,                             HUB_API_PREFIX "/integrations/{id}/test" },
    { HUB_M_POST,                             HUB_API_PREFIX "/integrations/{id}/oauth/start" },
    { HUB_M_GET | HUB_M_POST,                 HUB_API_PREFIX "/integrations/{id}/syncs" },
    { HUB_M_GET,                              HUB_API_PREFIX "/integrations/{id}/syncs/{log_id}" },
    { HUB_M_GET,                              HUB_API_PREFIX "/integrations/{id}/mappings" },
    { HUB_M_GET,                              HUB_API_PREFIX "/integrations/{id}/health" },
    { HUB_M_GET,                              HUB_API_PREFIX "/companies" },
    { HUB_M_GET,                              HUB_API_PREFIX "/products" },
    { HUB_M_GET,                              HUB_API_PREFIX "/invoices" },
    { HUB_M_GET,                              HUB_API_PREFIX "/integrations/{id}/events" },
    /* Before {event_id}: routes match in the order added. */
    { HUB_M_POST,                             HUB_API_PREFIX "/integrations/{id}/events/replay" },
    { HUB_M_GET,                              HUB_API_PREFIX "/integrations/{id}/events/{event_id}" },
    { HUB_M_GET | HUB_M_POST,                 HUB_API_PREFIX "/organizations" },
    { HUB_M_GET,                              HUB_API_PREFIX "/organizations/{org_id}" },
    { HUB_M_GET,                              HUB_API_PREFIX "/marketplace" },
    { HUB_M_POST,                             HUB_API_PREFIX "/marketplace/{connector_id}/install" },
    { HUB_M_POST,                             HUB_API_PREFIX "/marketplace/{connector_id}/rollback" },
    { HUB_M_DELETE,                           HUB_API_PREFIX "/marketplace/{connector_id}" },
};

/* Who may call a route: any token, organization tokens only, operator tokens only. */
enum { SCOPE_ANY = 0, SCOPE_ORG = 1, SCOPE_OPERATOR = 2 };

/* Per route: GET, POST, PATCH, DELETE and its scope. */
static const struct {
    api_fn get, post, patch, del;
    int    scope;
} handlers[] = {
    { NULL, NULL, NULL, NULL, 0 },
    { h_connectors, NULL, NULL, NULL, 0 },
    { h_integrations_list, h_integrations_create, NULL, NULL, 1 },
    { h_integration_get, NULL, h_integration_patch, h_integration_delete, 1 },
    { NULL, h_pause, NULL, NULL, 1 },
    { NULL, h_resume, NULL, NULL, 1 },
    { NULL, h_test, NULL, NULL, 1 },
    { NULL, h_oauth_start, NULL, NULL, 1 },
    { h_syncs_list, h_syncs_create, NULL, NULL, 1 },
    { h_sync_get, NULL, NULL, NULL, 1 },
    { h_mappings, NULL, NULL, NULL, 1 },
    { h_health, NULL, NULL, NULL, 1 },
    { h_companies, NULL, NULL, NULL, 1 },
    { h_products, NULL, NULL, NULL, 1 },
    { h_invoices, NULL, NULL, NULL, 1 },
    { h_events_list, NULL, NULL, NULL, 1 },
    { NULL, h_events_replay, NULL, NULL, 1 },
    { h_event_get, NULL, NULL, NULL, 1 },
    { h_orgs_list, h_orgs_create, NULL, NULL, 2 },
    { h_org_get, NULL, NULL, NULL, 2 },
    { h_market_list, NULL, NULL, NULL, 2 },
    { NULL, h_market_install, NULL, NULL, 2 },
    { NULL, h_market_rollback, NULL, NULL, 2 },
    { NULL, NULL, NULL, h_market_remove, 2 },
};

_Static_assert(sizeof(routes) / sizeof(routes[0]) == sizeof(handlers) / sizeof(handlers[0]),
               "one handler row per route");
_Static_assert(sizeof(routes) / sizeof(routes[0]) <= HUB_API_ROUTES_MAX, "bindings");

const struct hub_api_route *
hub_api_routes(size_t *n)
{
    *n = sizeof(routes) / sizeof(routes[0]);
    return routes;
}

/* ---- authentication and idempotency -------------------------------------------------------------- */

/* Bearer token -> organization and role. 0, or -1 with 401 set. */
static int
authenticate(struct api_req *r)
{
    const char *h = hub_http_job_header(r->job, "Authorization"), *tok, *p[1];
    uint8_t     hash[32];
    char        hex[2 + 64 + 1];
    PGresult   *res = NULL;
    size_t      i;

    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
        api_error(r, 401, "unauthorized", NULL, "send Authorization: Bearer <token>");
        return -1;
    }
    tok = h + 7;
    while (*tok == ' ')
        tok++;
    if (strlen(tok) != HUB_API_TOKEN_LEN || strncmp(tok, HUB_API_TOKEN_PREFIX, 4) != 0)
        goto bad;
    for (i = 4; i < HUB_API_TOKEN_LEN; i++) {
        if (!isalnum((unsigned char)tok[i]) && tok[i] != '-' && tok[i] != '_')
            goto bad;
    }
    if (hub_crypto_sha256(tok, HUB_API_TOKEN_LEN, hash) < 0)
        goto bad;
    hex[0] = '\\';
    hex[1] = 'x';
    hub_crypto_hex_encode(hash, sizeof(hash), hex + 2, sizeof(hex) - 2);
    p[0] = hex;
    /* last_used_at: at most one write per token and minute, in the same round trip. */
    if (q(r, "WITH t AS (SELECT id, organization_id, role FROM api_tokens WHERE token_hash = "
          "$1::bytea AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())), "
          "u AS (UPDATE api_tokens a SET last_used_at = now() FROM t WHERE a.id = t.id AND "
          "(a.last_used_at IS NULL OR a.last_used_at < now() - interval '1 minute') RETURNING "
          "a.id) SELECT coalesce(t.organization_id, 0), t.role, (SELECT count(*) FROM u) FROM t",
          1, p, &res) < 0)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        goto bad;
    }
    r->org_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    snprintf(r->org, sizeof(r->org), "%" PRId64, r->org_id);
    snprintf(r->role, sizeof(r->role), "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    return 0;
bad:
    api_error(r, 401, "unauthorized", NULL, "unknown, revoked or expired token");
    return -1;
}

struct idem {
    const char *key;
    char        hash[65];
};

/* 1: answered from the store (or refused); 0: run the handler; -1: error set. */
static int
idem_lookup(struct api_req *r, struct idem *im)
{
    const unsigned char *b;
    const char          *path = hub_http_job_path(r->job), *p[2];
    struct hub_buf       h;
    PGresult            *res = NULL;
    size_t               len, i;
    uint8_t              d[32];

    for (i = 0; im->key[i] != '\0'; i++) {
        if (i >= IDEM_KEY_MAX || im->key[i] < 0x21 || im->key[i] > 0x7e) {
            api_error(r, 400, "invalid_idempotency_key", NULL, "Idempotency-Key is 1 to %d "
                      "visible ASCII characters", IDEM_KEY_MAX);
            return -1;
        }
    }
    if (i == 0) {
        api_error(r, 400, "invalid_idempotency_key", NULL, "empty Idempotency-Key");
        return -1;
    }
    b = hub_http_job_body(r->job, &len);
    hub_buf_init(&h, 64u * 1024 * 1024);
    hub_buf_printf(&h, "POST\n%s\n", path);
    hub_buf_append(&h, b, len);
    if (h.data == NULL || hub_crypto_sha256(h.data, h.len, d) < 0) {
        hub_buf_free(&h);
        api_error(r, 500, "internal", NULL, "hash failed");
        return -1;
    }
    hub_buf_free(&h);
    hub_crypto_hex_encode(d, sizeof(d), im->hash, sizeof(im->hash));
    p[0] = r->org;
    p[1] = im->key;
    if (q(r, "SELECT request_hash, status, coalesce(location, ''), body FROM "
          "api_idempotency_keys WHERE organization_id = $1::bigint AND key = $2 AND "
          "created_at > now() - interval '24 hours'", 2, p, &res) < 0)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return 0;
    }
    if (strcmp(PQgetvalue(res, 0, 0), im->hash) != 0) {
        api_error(r, 422, "idempotency_key_reused", NULL, "this Idempotency-Key was used for "
                  "another request");
    } else {
        reply_raw(r, (int)strtol(PQgetvalue(res, 0, 1), NULL, 10), PQgetvalue(res, 0, 3),
                  (size_t)PQgetlength(res, 0, 3));
        snprintf(r->location, sizeof(r->location), "%s", PQgetvalue(res, 0, 2));
    }
    PQclear(res);
    return 1;
}

static void
idem_store(struct api_req *r, const struct idem *im)
{
    char        st[16];
    const char *p[6];

    if (r->status >= 500 || r->status < 200)
        return;
    snprintf(st, sizeof(st), "%d", r->status);
    p[0] = r->org;
    p[1] = im->key;
    p[2] = im->hash;
    p[3] = st;
    p[4] = r->location[0] != '\0' ? r->location : NULL;
    p[5] = r->body.data != NULL ? r->body.data : "";
    /* A concurrent first use of the same key keeps whichever answer committed first. */
    if (hub_db_query(r->db, "INSERT INTO api_idempotency_keys (organization_id, key, "
                     "request_hash, status, location, body) VALUES ($1::bigint, $2, $3, "
                     "$4::int, $5, $6) ON CONFLICT (organization_id, key) DO UPDATE SET "
                     "request_hash = EXCLUDED.request_hash, status = EXCLUDED.status, "
                     "location = EXCLUDED.location, body = EXCLUDED.body, created_at = now() "
                     "WHERE api_idempotency_keys.created_at <= now() - interval '24 hours'", 6,
                     p, NULL, &r->err) < 0)
        hub_log_warn("api", "storing an idempotency key: %s", r->err.msg);
}

/* ---- dispatch ------------------------------------------------------------------------------------ */

static void
api_job(struct hub_http_job *job, void *arg)
{
    struct hub_api_binding *b = arg;
    struct api_req          r;
    struct idem             im;
    api_fn                  fn = NULL;
    size_t                  i = b->route;

    memset(&r, 0, sizeof(r));
    r.job = job;
    r.ctx = b->ctx;
    r.db = hub_http_job_db(job);
    r.method = hub_http_job_method(job);
    hub_buf_init(&r.body, REPLY_CAP);
    if (r.db == NULL) {
        api_error(&r, 503, "unavailable", NULL, "no database");
        goto send;
    }
    if (authenticate(&r) < 0)
        goto send;
    switch (r.method) {
    case HUB_M_GET:    fn = handlers[i].get; break;
    case HUB_M_POST:   fn = handlers[i].post; break;
    case HUB_M_PATCH:  fn = handlers[i].patch; break;
    case HUB_M_DELETE: fn = handlers[i].del; break;
    default:           break;
    }
    if (fn == NULL) {
        api_error(&r, 405, "method_not_allowed", NULL, "method not allowed");
        goto send;
    }
    if (handlers[i].scope == SCOPE_OPERATOR) {
        if (r.org_id != 0 || strcmp(r.role, "operator") != 0) {
            api_error(&r, 403, "forbidden", NULL, "only an operator token (no organization) "
                      "may use this route");
            goto send;
        }
    } else if (r.method != HUB_M_GET && strcmp(r.role, "admin") != 0) {
        api_error(&r, 403, "forbidden", NULL, "this token may only read");
        goto send;
    }
    if (handlers[i].scope == SCOPE_ORG && r.org_id == 0) {
        api_error(&r, 403, "forbidden", NULL, "an operator token has no organization: use a "
                  "token of the organization");
        goto send;
    }
    /* Idempotency keys are stored per organization: operator routes do not honour them. */
    im.key = r.method == HUB_M_POST && r.org_id != 0 ?
             hub_http_job_header(job, "Idempotency-Key") : NULL;
    if (im.key != NULL) {
        int rc = idem_lookup(&r, &im);

        if (rc != 0)
            goto send;
    }
    fn(&r);
    if (r.db->in_tx)
        hub_db_rollback(r.db);
    if (im.key != NULL)
        idem_store(&r, &im);
send:
    if (r.location[0] != '\0' && r.status < 300)
        hub_http_job_add_header(job, "Location", r.location);
    if (r.status == 0)
        api_error(&r, 500, "internal", NULL, "no answer");
    if (r.status == 204)
        hub_http_job_reply(job, 204, NULL, NULL, 0);
    else
        hub_http_job_reply(job, r.status, "application/json", r.body.data != NULL ?
                           r.body.data : "", r.body.len);
    hub_buf_free(&r.body);
}

static int
on_route(struct hub_http_ctx *hc, void *arg)
{
    struct hub_api_binding *b = arg;
    const char             *doc;

    if (b->route == R_OPENAPI) {
        doc = hub_api_openapi_json();
        hub_http_reply(hc, 200, "application/json", doc, strlen(doc));
        return 0;
    }
    return hub_http_defer(b->ctx->defer, hc, api_job, b);
}

int
hub_api_register(struct hub_http_server *s, struct hub_api_ctx *ctx)
{
    size_t i, n;
    int    rc;

    if (s == NULL || ctx == NULL || ctx->defer == NULL || ctx->plugins == NULL)
        return HUB_E_INVALID;
    hub_api_routes(&n);
    for (i = 0; i < n; i++) {
        ctx->bindings[i].ctx = ctx;
        ctx->bindings[i].route = i;
        rc = hub_http_route(s, routes[i].methods, routes[i].pattern, on_route,
                            &ctx->bindings[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}
