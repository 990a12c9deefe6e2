/*
 * The admin API (/api/v1): replies, request helpers, pagination, routing, authentication, the
 * organization filter and idempotency keys; the handlers are in api_integrations.c and
 * api_resources.c. See api.h for the security model and docs/API.md for the routes. Every
 * handler runs on a defer-pool thread (its own connection); the loop-side callback only hands
 * the request over (openapi.json, static, is answered on the loop).
 */
#include "api/api_internal.h"
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

/* ---- replies --------------------------------------------------------------------------------- */

void
api_reply_raw(struct api_req *r, int status, const char *json, size_t len)
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
void
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

void
api_internal(struct api_req *r, const char *what)
{
    hub_log_error("api", "%s: %s", what, r->err.msg);
    api_error(r, 500, "internal", NULL, "internal error");
}

void
api_not_found(struct api_req *r, const char *what)
{
    api_error(r, 404, "not_found", NULL, "no such %s", what);
}

/* Run a statement; on failure answer 500 and return < 0. */
int
api_q(struct api_req *r, const char *sql, int n, const char *const *p, PGresult **res)
{
    int rc = hub_db_query(r->db, sql, n, p, res, &r->err);

    if (rc < 0)
        api_internal(r, "query");
    return rc;
}

/* ---- request helpers --------------------------------------------------------------------------- */

/* Route parameter as a positive id (text kept for parameters). -1 when malformed. */
int
api_param_id(struct api_req *r, const char *name, int64_t *out, char text[24])
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
int
api_body_object(struct api_req *r, json_object **out)
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
int
api_member_str(struct api_req *r, json_object *o, const char *key, size_t max, const char **out)
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
int
api_member_obj(struct api_req *r, json_object *o, const char *key, const char **out)
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
int
api_check_credentials(struct api_req *r, json_object *o, json_object **out)
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

int
api_store_credentials(struct api_req *r, int64_t id, json_object *creds)
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
            api_internal(r, "sealing credentials");
            return -1;
        }
    }
    return 0;
}

/* ---- pagination ------------------------------------------------------------------------------- */

/* Parse ?limit=&cursor= (and keep the other parameters for filters). 400 on a bad value. */
int
api_page_parse(struct api_req *r, struct api_page *pg, int desc)
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
void
api_page_reply(struct api_req *r, struct api_page *pg, PGresult *res)
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

void
api_page_free(struct api_page *pg)
{
    hub_oauth_params_free(&pg->qp);
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
    { api_h_connectors, NULL, NULL, NULL, 0 },
    { api_h_integrations_list, api_h_integrations_create, NULL, NULL, 1 },
    { api_h_integration_get, NULL, api_h_integration_patch, api_h_integration_delete, 1 },
    { NULL, api_h_pause, NULL, NULL, 1 },
    { NULL, api_h_resume, NULL, NULL, 1 },
    { NULL, api_h_test, NULL, NULL, 1 },
    { NULL, api_h_oauth_start, NULL, NULL, 1 },
    { api_h_syncs_list, api_h_syncs_create, NULL, NULL, 1 },
    { api_h_sync_get, NULL, NULL, NULL, 1 },
    { api_h_mappings, NULL, NULL, NULL, 1 },
    { api_h_health, NULL, NULL, NULL, 1 },
    { api_h_companies, NULL, NULL, NULL, 1 },
    { api_h_products, NULL, NULL, NULL, 1 },
    { api_h_invoices, NULL, NULL, NULL, 1 },
    { api_h_events_list, NULL, NULL, NULL, 1 },
    { NULL, api_h_events_replay, NULL, NULL, 1 },
    { api_h_event_get, NULL, NULL, NULL, 1 },
    { api_h_orgs_list, api_h_orgs_create, NULL, NULL, 2 },
    { api_h_org_get, NULL, NULL, NULL, 2 },
    { api_h_market_list, NULL, NULL, NULL, 2 },
    { NULL, api_h_market_install, NULL, NULL, 2 },
    { NULL, api_h_market_rollback, NULL, NULL, 2 },
    { NULL, NULL, NULL, api_h_market_remove, 2 },
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
    if (api_q(r, "WITH t AS (SELECT id, organization_id, role FROM api_tokens WHERE token_hash = "
              "$1::bytea AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())), "
              "u AS (UPDATE api_tokens a SET last_used_at = now() FROM t WHERE a.id = t.id AND "
              "(a.last_used_at IS NULL OR a.last_used_at < now() - interval '1 minute') RETURNING "
              "a.id) SELECT coalesce(t.organization_id, 0), t.role, (SELECT count(*) FROM u) FROM "
              "t",
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
    if (api_q(r, "SELECT request_hash, status, coalesce(location, ''), body FROM "
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
        api_reply_raw(r, (int)strtol(PQgetvalue(res, 0, 1), NULL, 10), PQgetvalue(res, 0, 3),
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
