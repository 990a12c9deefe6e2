/*
 * The host-services table (sx_host_api) and the services that touch the integration: logging,
 * failures, arena memory, emit, state, config, secrets, rate limits and HTTP. JSON lives in
 * api_json.c, clock/time/crypto helpers in api_util.c, instances and calls in instance.c.
 */
#include "plugin/api_internal.h"
#include "core/buf.h"
#include "core/log.h"
#include "net/retry.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- logging and failures ---------------------------------------------------------------------- */

static void
api_log(sx_ctx *cx, uint32_t level, const char *fmt, ...)
{
    struct hub_call *call = CALL_OF(cx);
    char             msg[4096], fields[256] = "";
    va_list          ap;

    if (level > SX_LOG_DEBUG)
        level = SX_LOG_DEBUG;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (call->inst != NULL)
        snprintf(fields, sizeof(fields), "\"connector\":\"%s\",\"integration_id\":%lld",
                 call->inst->plugin->id, (long long)call->inst->integration_id);
    hub_log_fields((int)level, "plugin", fields, "%s", msg);
}

int
hub_api_fail(sx_ctx *cx, int code, const char *fmt, ...)
{
    struct hub_call *call = CALL_OF(cx);
    char             msg[HUB_ERROR_MAX];
    va_list          ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (code >= 0 || code < SX_E__LAST)
        code = SX_E_INTERNAL;
    hub_error_set(&call->err, code, "%s", msg);
    return code;
}

static void *
api_alloc(sx_ctx *cx, size_t size)
{
    struct hub_call *call = CALL_OF(cx);
    void            *p = hub_arena_alloc(&call->arena, size);

    if (p == NULL)
        hub_error_set(&call->err, SX_E_LIMIT, "call arena limit reached (%zu bytes asked)", size);
    return p;
}

/* ---- emit ------------------------------------------------------------------------------------ */

static int
api_emit(sx_ctx *cx, uint32_t entity, sx_str json)
{
    struct hub_call *call = CALL_OF(cx);

    if (call->emit == NULL)
        return hub_api_fail(cx, SX_E_UNSUPPORTED, "emit() called outside list()");
    if (entity == SX_ENTITY_NONE || entity >= SX_ENTITY__COUNT)
        return hub_api_fail(cx, SX_E_INVALID, "emit() with unknown entity %u", entity);
    if (json.ptr == NULL || json.len == 0 || json.len > HUB_JSON_MAX_BYTES)
        return hub_api_fail(cx, SX_E_INVALID, "emit() with an empty or oversized record");
    call->emitted++;
    return call->emit(call, entity, json, call->sink_arg);
}

static int
api_emit_change(sx_ctx *cx, uint32_t entity, uint32_t op, sx_str external_id, sx_str json)
{
    struct hub_call *call = CALL_OF(cx);

    if (call->change == NULL)
        return hub_api_fail(cx, SX_E_UNSUPPORTED, "emit_change() called outside webhook translate()");
    if (entity == SX_ENTITY_NONE || entity >= SX_ENTITY__COUNT ||
        (op != SX_OP_UPSERT && op != SX_OP_DELETE))
        return hub_api_fail(cx, SX_E_INVALID, "emit_change() with unknown entity %u or op %u",
                        entity, op);
    if (external_id.len == 0 || external_id.len > 512)
        return hub_api_fail(cx, SX_E_INVALID, "emit_change() needs an external id of 1-512 bytes");
    if (op == SX_OP_UPSERT && (json.len == 0 || json.len > HUB_JSON_MAX_BYTES))
        return hub_api_fail(cx, SX_E_INVALID, "emit_change(UPSERT) needs a canonical record");
    call->emitted++;
    return call->change(call, entity, op, external_id, json, call->sink_arg);
}

/* ---- state, config, secrets ----------------------------------------------------------------- */

static int
key_ok(const char *key)
{
    size_t len = key != NULL ? strlen(key) : 0;

    return len > 0 && len <= 200;
}

static int
api_state_get(sx_ctx *cx, const char *key, sx_str *out)
{
    struct hub_call *call = CALL_OF(cx);
    PGresult        *res;
    char             id[32], *copy;
    const char      *params[2];

    if (call->db == NULL || call->inst == NULL)
        return hub_api_fail(cx, SX_E_UNSUPPORTED, "no state store in this call");
    if (!key_ok(key))
        return hub_api_fail(cx, SX_E_INVALID, "state key must be 1-200 bytes");
    snprintf(id, sizeof(id), "%lld", (long long)call->inst->integration_id);
    params[0] = id;
    params[1] = key;
    /* Binary result format: the bytea arrives as raw bytes. */
    res = PQexecParams(call->db->conn, "SELECT value FROM connector_state "
                       "WHERE integration_id = $1 AND key = $2", 2, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        int rc = hub_api_fail(cx, SX_E_TRANSIENT, "state_get(%s): %s", key,
                          PQerrorMessage(call->db->conn));

        PQclear(res);
        return rc;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        return SX_E_NOT_FOUND;
    }
    copy = hub_arena_strndup(&call->arena, PQgetvalue(res, 0, 0),
                             (size_t)PQgetlength(res, 0, 0));
    out->len = (size_t)PQgetlength(res, 0, 0);
    PQclear(res);
    if (copy == NULL)
        return hub_api_fail(cx, SX_E_LIMIT, "state value too large for the call arena");
    out->ptr = copy;
    return SX_OK;
}

static int
api_state_set(sx_ctx *cx, const char *key, sx_str value)
{
    struct hub_call *call = CALL_OF(cx);
    struct hub_error err;
    char             id[32];
    const char      *params[3];
    int              lens[3] = { 0, 0, 0 }, fmts[3] = { 0, 0, 1 };
    PGresult        *res;

    if (call->db == NULL || call->inst == NULL)
        return hub_api_fail(cx, SX_E_UNSUPPORTED, "no state store in this call");
    if (!key_ok(key))
        return hub_api_fail(cx, SX_E_INVALID, "state key must be 1-200 bytes");
    if (value.len > HUB_STATE_MAX_BYTES)
        return hub_api_fail(cx, SX_E_LIMIT, "state value of %zu bytes is over %u", value.len,
                        HUB_STATE_MAX_BYTES);
    snprintf(id, sizeof(id), "%lld", (long long)call->inst->integration_id);
    params[0] = id;
    params[1] = key;
    params[2] = value.ptr != NULL ? value.ptr : "";
    lens[2] = (int)value.len;
    res = PQexecParams(call->db->conn,
                       "INSERT INTO connector_state (integration_id, key, value) "
                       "VALUES ($1, $2, $3) ON CONFLICT (integration_id, key) "
                       "DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
                       3, NULL, params, lens, fmts, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        hub_error_set(&err, HUB_E_DB, "%s", PQerrorMessage(call->db->conn));
        PQclear(res);
        return hub_api_fail(cx, SX_E_TRANSIENT, "state_set(%s): %s", key, err.msg);
    }
    PQclear(res);
    return SX_OK;
}

int
hub_api_config_get(sx_ctx *cx, const char *key, sx_str *out)
{
    struct hub_call *call = CALL_OF(cx);
    json_object     *v = NULL;
    const char      *s;
    char            *copy;

    if (call->inst == NULL || call->inst->config == NULL || key == NULL)
        return SX_E_NOT_FOUND;
    if (!json_object_object_get_ex(call->inst->config, key, &v) || v == NULL ||
        json_object_is_type(v, json_type_null))
        return SX_E_NOT_FOUND;
    s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) :
        json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
    copy = hub_arena_strdup(&call->arena, s);
    if (copy == NULL)
        return SX_E_LIMIT;
    out->ptr = copy;
    out->len = strlen(copy);
    return SX_OK;
}

int
hub_api_secret_get(sx_ctx *cx, const char *key, sx_str *out)
{
    struct hub_call *call = CALL_OF(cx);
    struct hub_error err;
    char            *val = NULL, *copy;
    size_t           len = 0;
    int              rc;

    if (call->db == NULL || call->inst == NULL || call->inst->rt->keys == NULL)
        return hub_api_fail(cx, SX_E_UNSUPPORTED, "no secret store in this call");
    if (!key_ok(key))
        return hub_api_fail(cx, SX_E_INVALID, "secret key must be 1-200 bytes");
    rc = hub_secret_load(call->db, call->inst->rt->keys, call->inst->integration_id, key, &val,
                         &len, &err);
    if (rc == HUB_E_NOT_FOUND)
        return SX_E_NOT_FOUND;
    if (rc < 0)
        return hub_api_fail(cx, hub_to_sx_status(rc), "secret %s: %s", key, err.msg);
    hub_log_redact_add(val, len);
    copy = hub_arena_strndup(&call->arena, val, len);
    hub_crypto_free_secret(val, len);
    if (copy == NULL)
        return SX_E_LIMIT;
    out->ptr = copy;
    out->len = len;
    return SX_OK;
}

static int
api_secret_set(sx_ctx *cx, const char *key, sx_str value)
{
    struct hub_call *call = CALL_OF(cx);
    struct hub_error err;
    int              rc;

    if (call->db == NULL || call->inst == NULL || call->inst->rt->keys == NULL)
        return hub_api_fail(cx, SX_E_UNSUPPORTED, "no secret store in this call");
    if (!key_ok(key) || value.len > HUB_STATE_MAX_BYTES)
        return hub_api_fail(cx, SX_E_INVALID, "secret key must be 1-200 bytes, value <= %u bytes",
                        HUB_STATE_MAX_BYTES);
    hub_log_redact_add(value.ptr, value.len);
    rc = hub_secret_store(call->db, call->inst->rt->keys, call->inst->integration_id, key,
                          value.ptr, value.len, &err);
    if (rc < 0)
        return hub_api_fail(cx, hub_to_sx_status(rc), "secret %s: %s", key, err.msg);
    return SX_OK;
}

/* ---- HTTP ------------------------------------------------------------------------------------ */

static int
api_http_header(const sx_http_resp *resp, const char *name, sx_str *out)
{
    size_t i, nlen;

    if (resp == NULL || name == NULL)
        return SX_E_INVALID;
    nlen = strlen(name);
    for (i = 0; i < resp->n_headers; i++) {
        const sx_http_header *h = &resp->headers[i];

        if (h->name.len == nlen && strncasecmp(h->name.ptr, name, nlen) == 0) {
            *out = h->value;
            return SX_OK;
        }
    }
    return SX_E_NOT_FOUND;
}

static int
api_rate_configure(sx_ctx *cx, const sx_rate_policy *p)
{
    struct hub_call       *call = CALL_OF(cx);
    struct hub_rate_policy pol;
    struct hub_error       err;

    if (call->inst == NULL || call->inst->rt->rates == NULL)
        return SX_E_UNSUPPORTED;
    if (p == NULL || SX_ABI_VERSION_MAJOR(p->hdr.abi_version) != SX_ABI_MAJOR ||
        p->hdr.struct_size < SX_SIZE_THROUGH(sx_rate_policy, headroom))
        return hub_api_fail(cx, SX_E_INVALID, "rate_configure: policy header is not ABI %u",
                        SX_ABI_MAJOR);
    memset(&pol, 0, sizeof(pol));
    pol.kind = (int)p->kind;
    pol.capacity = p->capacity;
    pol.rate_milli = p->rate_milli;
    pol.max_concurrency = p->max_concurrency;
    pol.headroom = p->headroom;
    if (hub_rate_configure(call->inst->rt->rates, call->inst->account, &pol, &err) < 0)
        return hub_api_fail(cx, SX_E_INVALID, "rate_configure: %s", err.msg);
    return SX_OK;
}

static int
api_rate_observe(sx_ctx *cx, uint32_t used, uint32_t limit)
{
    struct hub_call         *call = CALL_OF(cx);
    struct hub_rate_limiter *lim;
    struct hub_error         err;

    if (call->inst == NULL || call->inst->rt->rates == NULL)
        return SX_E_UNSUPPORTED;
    if (limit == 0 || used > limit * 4)
        return hub_api_fail(cx, SX_E_INVALID, "rate_observe: %u of %u is not a usage report",
                        used, limit);
    lim = hub_rate_get(call->inst->rt->rates, call->inst->account, &err);
    if (lim == NULL)
        return hub_api_fail(cx, SX_E_INTERNAL, "rate_observe: %s", err.msg);
    hub_rate_observe(lim, used, limit);
    return SX_OK;
}

/* Add one header to a request under construction (arena memory). */
static int
add_header(struct hub_call *call, sx_http_header **hdrs, size_t *n, size_t cap,
           const char *name, sx_str value)
{
    char *nm;

    if (*n >= cap)
        return SX_E_LIMIT;
    nm = hub_arena_strdup(&call->arena, name);
    if (nm == NULL)
        return SX_E_LIMIT;
    (*hdrs)[*n].name = sx_cstr(nm);
    (*hdrs)[*n].value = value;
    (*n)++;
    return SX_OK;
}

/* Credentials: secret first, then plain config (user names are often not secret). */
static int
cred_get(sx_ctx *cx, const char *key, sx_str *out)
{
    int rc = hub_api_secret_get(cx, key, out);

    if (rc == SX_E_NOT_FOUND)
        rc = hub_api_config_get(cx, key, out);
    return rc;
}

static int
apply_auth(struct hub_call *call, const sx_http_req *in, sx_http_req *out, sx_http_header **hdrs,
           size_t *n, size_t cap)
{
    const sx_auth_ops *a = call->inst->plugin->desc.auth;
    sx_str             tok, user, pass = SX_STR_NULL;
    int                rc;

    if (a == NULL || (in->flags & SX_HTTP_NO_AUTH))
        return SX_OK;
    switch (a->apply) {
    case SX_APPLY_BEARER:
    case SX_APPLY_HEADER: {
        char *v;

        rc = cred_get(&call->cx, a->token_key, &tok);
        if (rc != SX_OK)
            return hub_api_fail(&call->cx, SX_E_AUTH, "no credential \"%s\" for this integration: "
                            "connect it first", a->token_key);
        if (a->apply == SX_APPLY_HEADER)
            return add_header(call, hdrs, n, cap, a->header_name, tok);
        v = hub_arena_printf(&call->arena, "Bearer %.*s", (int)tok.len, tok.ptr);
        if (v == NULL)
            return SX_E_LIMIT;
        return add_header(call, hdrs, n, cap, "Authorization", sx_cstr(v));
    }
    case SX_APPLY_BASIC: {
        char   *plain, *v;
        sx_str  b64;

        rc = cred_get(&call->cx, a->user_key, &user);
        if (rc != SX_OK)
            return hub_api_fail(&call->cx, SX_E_AUTH, "no credential \"%s\" for this integration",
                            a->user_key);
        if (a->pass_key != NULL && cred_get(&call->cx, a->pass_key, &pass) != SX_OK)
            return hub_api_fail(&call->cx, SX_E_AUTH, "no credential \"%s\" for this integration",
                            a->pass_key);
        plain = hub_arena_printf(&call->arena, "%.*s:%.*s", (int)user.len, user.ptr,
                                 (int)pass.len, pass.ptr != NULL ? pass.ptr : "");
        if (plain == NULL || hub_api_base64_encode(&call->cx, (const uint8_t *)plain, strlen(plain),
                                               &b64) != SX_OK)
            return SX_E_LIMIT;
        hub_log_redact_add(b64.ptr, b64.len);
        v = hub_arena_printf(&call->arena, "Basic %.*s", (int)b64.len, b64.ptr);
        if (v == NULL)
            return SX_E_LIMIT;
        return add_header(call, hdrs, n, cap, "Authorization", sx_cstr(v));
    }
    case SX_APPLY_CUSTOM:
        rc = a->sign(&call->cx, in, out);
        return hub_call_result(call, rc, "auth sign()");
    default:
        return SX_OK;
    }
}

/* A custom signature is computed again before every retry: OAuth 1.0a nonces are single-use
 * and timestamps age (the platform would refuse a resent one). */
struct resign_ctx {
    struct hub_call   *call;
    const sx_http_req *req;
};

static int
resign(void *arg, struct hub_http_req *r)
{
    struct resign_ctx *rs = arg;
    const sx_auth_ops *a = rs->call->inst->plugin->desc.auth;
    sx_http_req        o = *rs->req;
    int                rc;

    rc = a->sign(&rs->call->cx, rs->req, &o);
    rc = hub_call_result(rs->call, rc, "auth sign()");
    if (rc != SX_OK)
        return HUB_E_AUTH;
    r->query = o.query;
    if (o.headers != rs->req->headers || o.n_headers != rs->req->n_headers) {
        r->headers = o.headers;
        r->n_headers = o.n_headers;
    }
    return 0;
}

static int
api_http(sx_ctx *cx, const sx_http_req *req, const sx_http_resp **out)
{
    struct resign_ctx        rs;
    struct hub_call         *call = CALL_OF(cx);
    struct hub_instance     *inst = call->inst;
    struct hub_http_req      hr;
    struct hub_http_resp     resp;
    struct hub_retry_policy  pol;
    struct hub_error         err;
    sx_http_req              signed_req;
    sx_http_header          *hdrs;
    sx_http_resp            *r;
    size_t                   n = 0, cap, i;
    sx_str                   url;
    int                      rc, src;

    *out = NULL;
    if (inst == NULL || inst->rt->http == NULL)
        return hub_api_fail(cx, SX_E_UNSUPPORTED, "no HTTP client in this call");
    if (req == NULL || SX_ABI_VERSION_MAJOR(req->hdr.abi_version) != SX_ABI_MAJOR ||
        req->hdr.struct_size < SX_SIZE_THROUGH(sx_http_req, content_type))
        return hub_api_fail(cx, SX_E_INVALID, "http: request header is not ABI %u (use "
                        "SX_HTTP_REQ_INIT)", SX_ABI_MAJOR);
    if (req->n_headers > HUB_HTTP_MAX_REQ_HEADERS - 4)
        return hub_api_fail(cx, SX_E_LIMIT, "http: %u headers, at most %d", req->n_headers,
                        HUB_HTTP_MAX_REQ_HEADERS - 4);
    signed_req = *req;

    cap = req->n_headers + 4;
    hdrs = hub_arena_alloc(&call->arena, cap * sizeof(*hdrs));
    if (hdrs == NULL)
        return SX_E_LIMIT;
    for (i = 0; i < req->n_headers; i++)
        hdrs[n++] = req->headers[i];
    rc = apply_auth(call, req, &signed_req, &hdrs, &n, cap);
    if (rc != SX_OK)
        return rc;
    if (signed_req.headers != req->headers || signed_req.n_headers != req->n_headers) {
        /* sign() replaced the headers: take its set, then nothing else. */
        hdrs = (sx_http_header *)signed_req.headers;
        n = signed_req.n_headers;
    }

    /* Relative URLs resolve against the integration's base_url. */
    url = signed_req.url;
    if (url.len == 0)
        return hub_api_fail(cx, SX_E_INVALID, "http: empty URL");
    if (!(url.len > 7 && (strncmp(url.ptr, "http://", 7) == 0 ||
                          (url.len > 8 && strncmp(url.ptr, "https://", 8) == 0)))) {
        sx_str base;
        char  *full;

        if (hub_api_config_get(cx, "base_url", &base) != SX_OK)
            return hub_api_fail(cx, SX_E_INVALID, "http: relative URL but the integration has no "
                            "base_url");
        while (base.len > 0 && base.ptr[base.len - 1] == '/')
            base.len--;
        full = hub_arena_printf(&call->arena, "%.*s%s%.*s", (int)base.len, base.ptr,
                                url.ptr[0] == '/' ? "" : "/", (int)url.len, url.ptr);
        if (full == NULL)
            return SX_E_LIMIT;
        url = sx_cstr(full);
    }

    memset(&hr, 0, sizeof(hr));
    hr.method = (int)signed_req.method;
    hr.url = url;
    hr.query = signed_req.query;
    hr.headers = hdrs;
    hr.n_headers = n;
    hr.body = signed_req.body;
    hr.content_type = signed_req.content_type;
    hr.timeout_ms = signed_req.timeout_ms;
    if (signed_req.flags & SX_HTTP_NO_RETRY)
        hr.flags |= HUB_HTTP_NO_RETRY;
    /* A POST without the plugin's promise of idempotency is never repeated once it may have
     * reached the platform (a second create would duplicate the record). */
    if (signed_req.method == SX_HTTP_POST)
        hr.flags |= HUB_HTTP_NON_IDEMPOTENT;
    if (call->inst->plugin->desc.auth != NULL && !(req->flags & SX_HTTP_NO_AUTH) &&
        call->inst->plugin->desc.auth->apply == SX_APPLY_CUSTOM) {
        rs.call = call;
        rs.req = req;
        hr.resign = resign;
        hr.resign_ctx = &rs;
    }

    memset(&pol, 0, sizeof(pol));
    pol.max_attempts = inst->rt->http_max_attempts;     /* 0 = the retry policy's default */
    pol.total_timeout_ms = inst->rt->http_deadline_ms ? inst->rt->http_deadline_ms : 120000;
    memset(&resp, 0, sizeof(resp));
    rc = hub_http_send(inst->rt->http, inst->rt->rates, inst->account, &hr, &pol, &call->arena,
                       &resp, &err);

    if (resp.status != 0) {
        r = hub_arena_alloc(&call->arena, sizeof(*r));
        if (r == NULL)
            return SX_E_LIMIT;
        r->hdr.abi_version = SX_ABI_VERSION;
        r->hdr.struct_size = sizeof(*r);
        r->status = (uint32_t)resp.status;
        r->n_headers = (uint32_t)resp.n_headers;
        r->headers = resp.headers;
        r->body = resp.body;
        r->attempts = resp.attempts;
        *out = r;
        if (signed_req.flags & SX_HTTP_RAW_STATUS)
            return SX_OK;
    }
    if (rc == 0)
        return SX_OK;
    src = hub_to_sx_status(rc);
    hub_error_set(&call->err, src, "%s", err.msg);
    return src;
}

/* ---- the table ------------------------------------------------------------------------------- */

static const sx_host_api host_api = {
    .hdr           = SX_HEADER_INIT(sx_host_api),
    .log           = api_log,
    .fail          = hub_api_fail,
    .alloc         = api_alloc,
    .http          = api_http,
    .http_header   = api_http_header,
    .rate_configure = api_rate_configure,
    .rate_observe  = api_rate_observe,
    .json_parse    = hub_api_json_parse,
    .json_get      = hub_api_json_get,
    .json_type     = hub_api_json_type,
    .json_length   = hub_api_json_length,
    .json_at       = hub_api_json_at,
    .json_string   = hub_api_json_string,
    .json_int64    = hub_api_json_int64,
    .json_bool     = hub_api_json_bool,
    .json_text     = hub_api_json_text,
    .emit          = api_emit,
    .emit_change   = api_emit_change,
    .state_get     = api_state_get,
    .state_set     = api_state_set,
    .config_get    = hub_api_config_get,
    .secret_get    = hub_api_secret_get,
    .secret_set    = api_secret_set,
    .now_ms        = hub_api_now_ms,
    .time_parse    = hub_api_time_parse,
    .time_format   = hub_api_time_format,
    .hmac_sha256   = hub_api_hmac_sha256,
    .consttime_eq  = hub_api_consttime_eq,
    .base64_encode = hub_api_base64_encode,
    .hex_encode    = hub_api_hex_encode,
    .random_bytes  = hub_api_random_bytes,
};

const sx_host_api *
hub_host_api(void)
{
    return &host_api;
}

