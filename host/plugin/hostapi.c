#include "plugin/hostapi.h"
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

#define CALL_OF(cx)  ((struct hub_call *)(void *)(cx))   /* cx is the first member */

/* ---- status mapping -------------------------------------------------------------------------- */

int
hub_to_sx_status(int code)
{
    if (code >= SX_E__LAST && code <= 0)
        return code;                     /* HUB_E_* -1..-14 equal SX_E_* by construction */
    switch (code) {
    case HUB_E_DB:
        return SX_E_TRANSIENT;
    case HUB_E_CRYPTO:
        return SX_E_AUTH;
    default:
        return SX_E_INTERNAL;
    }
}

/* ---- call lifecycle -------------------------------------------------------------------------- */

void
hub_call_begin(struct hub_call *call, struct hub_instance *inst, struct hub_db *db)
{
    memset(call, 0, sizeof(*call));
    call->cx.hdr.abi_version = SX_ABI_VERSION;
    call->cx.hdr.struct_size = sizeof(sx_ctx);
    call->cx.host = hub_host_api();
    call->cx.state = inst != NULL ? inst->state : NULL;
    call->inst = inst;
    call->db = db;
    hub_arena_init(&call->arena, HUB_CALL_ARENA_CAP);
    if (inst != NULL)
        pthread_mutex_lock(&inst->lock);
}

void
hub_call_end(struct hub_call *call)
{
    size_t i;

    for (i = 0; i < call->n_json_roots; i++)
        json_object_put(call->json_roots[i]);
    free(call->json_roots);
    call->json_roots = NULL;
    call->n_json_roots = 0;
    hub_arena_destroy(&call->arena);
    if (call->inst != NULL)
        pthread_mutex_unlock(&call->inst->lock);
}

int
hub_call_result(struct hub_call *call, int rc, const char *what)
{
    if (rc >= 0)
        return rc;
    if (call->err.msg[0] == '\0')
        hub_error_set(&call->err, rc, "%s failed with %s and gave no reason", what,
                      sx_status_name(rc));
    call->err.code = rc;
    return rc;
}

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

static int
api_fail(sx_ctx *cx, int code, const char *fmt, ...)
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

/* ---- JSON ------------------------------------------------------------------------------------ */

static int
keep_root(struct hub_call *call, json_object *root)
{
    if (call->n_json_roots == call->cap_json_roots) {
        size_t n = call->cap_json_roots ? call->cap_json_roots * 2 : 8;
        void **p;

        if (n > 65536)
            return SX_E_LIMIT;
        p = realloc(call->json_roots, n * sizeof(*p));
        if (p == NULL)
            return SX_E_NOMEM;
        call->json_roots = p;
        call->cap_json_roots = n;
    }
    call->json_roots[call->n_json_roots++] = root;
    return SX_OK;
}

static int
api_json_parse(sx_ctx *cx, sx_str text, const sx_json **out)
{
    struct hub_call      *call = CALL_OF(cx);
    struct json_tokener  *tok;
    json_object          *root;
    enum json_tokener_error jerr;

    *out = NULL;
    if (text.len > HUB_JSON_MAX_BYTES)
        return api_fail(cx, SX_E_LIMIT, "JSON document of %zu bytes is over the %u-byte limit",
                        text.len, HUB_JSON_MAX_BYTES);
    if (text.len == 0 || text.ptr == NULL)
        return api_fail(cx, SX_E_PROTOCOL, "empty JSON document");
    tok = json_tokener_new_ex(HUB_JSON_MAX_DEPTH);
    if (tok == NULL)
        return SX_E_NOMEM;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    root = json_tokener_parse_ex(tok, text.ptr, (int)text.len);
    jerr = json_tokener_get_error(tok);
    if (root == NULL && jerr == json_tokener_continue && text.len < HUB_JSON_MAX_BYTES) {
        /* A bare scalar ("2") ends only where input ends: parse again with a newline after
         * it, which terminates a number or literal and is whitespace to everything else. */
        char *copy = hub_arena_alloc(&call->arena, text.len + 1);

        if (copy != NULL) {
            memcpy(copy, text.ptr, text.len);
            copy[text.len] = '\n';
            json_tokener_reset(tok);
            root = json_tokener_parse_ex(tok, copy, (int)text.len + 1);
            jerr = json_tokener_get_error(tok);
        }
    }
    if (root != NULL && jerr == json_tokener_success &&
        json_tokener_get_parse_end(tok) < text.len && text.len <= INT32_MAX) {
        /* Trailing bytes: allowed only if whitespace. */
        size_t i;

        for (i = json_tokener_get_parse_end(tok); i < text.len; i++) {
            char c = text.ptr[i];

            if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
                json_object_put(root);
                root = NULL;
                break;
            }
        }
    }
    if (root == NULL || jerr != json_tokener_success) {
        int rc = jerr == json_tokener_error_depth ? SX_E_LIMIT : SX_E_PROTOCOL;

        if (root != NULL)
            json_object_put(root);
        json_tokener_free(tok);
        return api_fail(cx, rc, "invalid JSON (%s)",
                        jerr == json_tokener_success ? "trailing data" :
                        json_tokener_error_desc(jerr));
    }
    json_tokener_free(tok);
    if (keep_root(call, root) != SX_OK) {
        json_object_put(root);
        return api_fail(cx, SX_E_LIMIT, "too many JSON documents in one call");
    }
    *out = (const sx_json *)root;
    return SX_OK;
}

static const sx_json *
api_json_get(const sx_json *obj, const char *key)
{
    json_object *v = NULL;

    if (obj == NULL || key == NULL || !json_object_is_type((json_object *)obj, json_type_object))
        return NULL;
    if (!json_object_object_get_ex((json_object *)obj, key, &v))
        return NULL;
    return (const sx_json *)v;
}

static uint32_t
api_json_type(const sx_json *v)
{
    if (v == NULL)
        return SX_JSON_ABSENT;
    switch (json_object_get_type((json_object *)v)) {
    case json_type_null:    return SX_JSON_NULL;
    case json_type_boolean: return SX_JSON_BOOL;
    case json_type_int:     return SX_JSON_INT;
    case json_type_double:  return SX_JSON_DOUBLE;
    case json_type_string:  return SX_JSON_STRING;
    case json_type_array:   return SX_JSON_ARRAY;
    case json_type_object:  return SX_JSON_OBJECT;
    default:                return SX_JSON_NULL;
    }
}

static size_t
api_json_length(const sx_json *arr)
{
    if (arr == NULL || !json_object_is_type((json_object *)arr, json_type_array))
        return 0;
    return json_object_array_length((json_object *)arr);
}

static const sx_json *
api_json_at(const sx_json *arr, size_t index)
{
    if (index >= api_json_length(arr))
        return NULL;
    return (const sx_json *)json_object_array_get_idx((json_object *)arr, index);
}

static int
api_json_string(const sx_json *v, sx_str *out)
{
    if (v == NULL || !json_object_is_type((json_object *)v, json_type_string))
        return SX_E_INVALID;
    out->ptr = json_object_get_string((json_object *)v);
    out->len = (size_t)json_object_get_string_len((json_object *)v);
    return SX_OK;
}

static int
api_json_int64(const sx_json *v, int64_t *out)
{
    json_object *o = (json_object *)v;

    if (o == NULL)
        return SX_E_INVALID;
    if (json_object_is_type(o, json_type_int)) {
        *out = json_object_get_int64(o);
        return SX_OK;
    }
    if (json_object_is_type(o, json_type_string)) {
        const char *s = json_object_get_string(o);
        size_t      len = (size_t)json_object_get_string_len(o), i = 0;
        int64_t     val = 0;
        int         neg = 0;

        if (len == 0 || len > 20)
            return SX_E_INVALID;
        if (s[0] == '-') {
            neg = 1;
            i = 1;
            if (len == 1)
                return SX_E_INVALID;
        }
        for (; i < len; i++) {
            if (s[i] < '0' || s[i] > '9' || val > (INT64_MAX - 9) / 10)
                return SX_E_INVALID;
            val = val * 10 + (s[i] - '0');
        }
        *out = neg ? -val : val;
        return SX_OK;
    }
    return SX_E_INVALID;
}

static int
api_json_bool(const sx_json *v, int *out)
{
    if (v == NULL || !json_object_is_type((json_object *)v, json_type_boolean))
        return SX_E_INVALID;
    *out = json_object_get_boolean((json_object *)v) ? 1 : 0;
    return SX_OK;
}

static int
api_json_text(sx_ctx *cx, const sx_json *v, sx_str *out)
{
    struct hub_call *call = CALL_OF(cx);
    size_t           len = 0;
    const char      *s;
    char            *copy;

    if (v == NULL)
        return SX_E_INVALID;
    s = json_object_to_json_string_length((json_object *)v, JSON_C_TO_STRING_PLAIN |
                                          JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    if (s == NULL)
        return SX_E_NOMEM;
    copy = hub_arena_strndup(&call->arena, s, len);
    if (copy == NULL)
        return SX_E_LIMIT;
    out->ptr = copy;
    out->len = len;
    return SX_OK;
}

/* ---- emit ------------------------------------------------------------------------------------ */

static int
api_emit(sx_ctx *cx, uint32_t entity, sx_str json)
{
    struct hub_call *call = CALL_OF(cx);

    if (call->emit == NULL)
        return api_fail(cx, SX_E_UNSUPPORTED, "emit() called outside list()");
    if (entity == SX_ENTITY_NONE || entity >= SX_ENTITY__COUNT)
        return api_fail(cx, SX_E_INVALID, "emit() with unknown entity %u", entity);
    if (json.ptr == NULL || json.len == 0 || json.len > HUB_JSON_MAX_BYTES)
        return api_fail(cx, SX_E_INVALID, "emit() with an empty or oversized record");
    call->emitted++;
    return call->emit(call, entity, json, call->sink_arg);
}

static int
api_emit_change(sx_ctx *cx, uint32_t entity, uint32_t op, sx_str external_id, sx_str json)
{
    struct hub_call *call = CALL_OF(cx);

    if (call->change == NULL)
        return api_fail(cx, SX_E_UNSUPPORTED, "emit_change() called outside webhook translate()");
    if (entity == SX_ENTITY_NONE || entity >= SX_ENTITY__COUNT ||
        (op != SX_OP_UPSERT && op != SX_OP_DELETE))
        return api_fail(cx, SX_E_INVALID, "emit_change() with unknown entity %u or op %u",
                        entity, op);
    if (external_id.len == 0 || external_id.len > 512)
        return api_fail(cx, SX_E_INVALID, "emit_change() needs an external id of 1-512 bytes");
    if (op == SX_OP_UPSERT && (json.len == 0 || json.len > HUB_JSON_MAX_BYTES))
        return api_fail(cx, SX_E_INVALID, "emit_change(UPSERT) needs a canonical record");
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
        return api_fail(cx, SX_E_UNSUPPORTED, "no state store in this call");
    if (!key_ok(key))
        return api_fail(cx, SX_E_INVALID, "state key must be 1-200 bytes");
    snprintf(id, sizeof(id), "%lld", (long long)call->inst->integration_id);
    params[0] = id;
    params[1] = key;
    /* Binary result format: the bytea arrives as raw bytes. */
    res = PQexecParams(call->db->conn, "SELECT value FROM connector_state "
                       "WHERE integration_id = $1 AND key = $2", 2, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        int rc = api_fail(cx, SX_E_TRANSIENT, "state_get(%s): %s", key,
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
        return api_fail(cx, SX_E_LIMIT, "state value too large for the call arena");
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
        return api_fail(cx, SX_E_UNSUPPORTED, "no state store in this call");
    if (!key_ok(key))
        return api_fail(cx, SX_E_INVALID, "state key must be 1-200 bytes");
    if (value.len > HUB_STATE_MAX_BYTES)
        return api_fail(cx, SX_E_LIMIT, "state value of %zu bytes is over %u", value.len,
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
        return api_fail(cx, SX_E_TRANSIENT, "state_set(%s): %s", key, err.msg);
    }
    PQclear(res);
    return SX_OK;
}

static int
api_config_get(sx_ctx *cx, const char *key, sx_str *out)
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

static int
api_secret_get(sx_ctx *cx, const char *key, sx_str *out)
{
    struct hub_call *call = CALL_OF(cx);
    struct hub_error err;
    char            *val = NULL, *copy;
    size_t           len = 0;
    int              rc;

    if (call->db == NULL || call->inst == NULL || call->inst->rt->keys == NULL)
        return api_fail(cx, SX_E_UNSUPPORTED, "no secret store in this call");
    if (!key_ok(key))
        return api_fail(cx, SX_E_INVALID, "secret key must be 1-200 bytes");
    rc = hub_secret_load(call->db, call->inst->rt->keys, call->inst->integration_id, key, &val,
                         &len, &err);
    if (rc == HUB_E_NOT_FOUND)
        return SX_E_NOT_FOUND;
    if (rc < 0)
        return api_fail(cx, hub_to_sx_status(rc), "secret %s: %s", key, err.msg);
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
        return api_fail(cx, SX_E_UNSUPPORTED, "no secret store in this call");
    if (!key_ok(key) || value.len > HUB_STATE_MAX_BYTES)
        return api_fail(cx, SX_E_INVALID, "secret key must be 1-200 bytes, value <= %u bytes",
                        HUB_STATE_MAX_BYTES);
    hub_log_redact_add(value.ptr, value.len);
    rc = hub_secret_store(call->db, call->inst->rt->keys, call->inst->integration_id, key,
                          value.ptr, value.len, &err);
    if (rc < 0)
        return api_fail(cx, hub_to_sx_status(rc), "secret %s: %s", key, err.msg);
    return SX_OK;
}

/* ---- clock and time -------------------------------------------------------------------------- */

static int64_t
api_now_ms(sx_ctx *cx)
{
    struct hub_call *call = CALL_OF(cx);
    struct timespec  ts;

    if (call->inst != NULL && call->inst->rt->now_ms != NULL)
        return call->inst->rt->now_ms(call->inst->rt->now_ctx);
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
digits(const char *s, size_t n, int *out)
{
    size_t i;
    int    v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int
hub_time_parse(const char *s, size_t len, int64_t *out_ms)
{
    struct tm tm;
    int       y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, off = 0, oh, om;
    size_t    i = 10;
    time_t    t;

    if (s == NULL || len < 10 || len > 64)
        return SX_E_INVALID;
    if (digits(s, 4, &y) < 0 || s[4] != '-' || digits(s + 5, 2, &mo) < 0 || s[7] != '-' ||
        digits(s + 8, 2, &d) < 0)
        return SX_E_INVALID;
    if (len > 10) {
        if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || len < 19)
            return SX_E_INVALID;
        if (digits(s + 11, 2, &h) < 0 || s[13] != ':' || digits(s + 14, 2, &mi) < 0 ||
            s[16] != ':' || digits(s + 17, 2, &sec) < 0)
            return SX_E_INVALID;
        i = 19;
        if (i < len && s[i] == '.') {
            int scale = 100;

            i++;
            if (i >= len || s[i] < '0' || s[i] > '9')
                return SX_E_INVALID;
            for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
                ms += (s[i] - '0') * scale;
                scale /= 10;                     /* digits past milliseconds are dropped */
            }
        }
        if (i < len) {
            if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
                i++;
            } else if (s[i] == '+' || s[i] == '-') {
                int sign = s[i] == '-' ? -1 : 1;

                if (len - i == 6 && s[i + 3] == ':') {
                    if (digits(s + i + 1, 2, &oh) < 0 || digits(s + i + 4, 2, &om) < 0)
                        return SX_E_INVALID;
                } else if (len - i == 5) {
                    if (digits(s + i + 1, 2, &oh) < 0 || digits(s + i + 3, 2, &om) < 0)
                        return SX_E_INVALID;
                } else if (len - i == 3) {
                    if (digits(s + i + 1, 2, &oh) < 0)
                        return SX_E_INVALID;
                    om = 0;
                } else {
                    return SX_E_INVALID;
                }
                if (oh > 23 || om > 59)
                    return SX_E_INVALID;
                off = sign * (oh * 3600 + om * 60);
                i = len;
            } else {
                return SX_E_INVALID;
            }
        }
    }
    if (i != len || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
        mi > 59 || sec > 60)
        return SX_E_INVALID;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec == 60 ? 59 : sec;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return SX_E_INVALID;
    /* timegm normalizes 31 February into March: refuse what was not a real date. */
    {
        struct tm back;

        gmtime_r(&t, &back);
        if (back.tm_mday != d || back.tm_mon != mo - 1)
            return SX_E_INVALID;
    }
    *out_ms = ((int64_t)t - off) * 1000 + ms;
    return SX_OK;
}

static int
api_time_parse(sx_str text, int64_t *out_ms)
{
    return hub_time_parse(text.ptr, text.len, out_ms);
}

static int
api_time_format(sx_ctx *cx, int64_t ms, sx_str *out)
{
    struct hub_call *call = CALL_OF(cx);
    struct tm        tm;
    time_t           t = (time_t)(ms / 1000);
    char            *buf;

    if (ms < 0 || gmtime_r(&t, &tm) == NULL)
        return SX_E_INVALID;
    buf = hub_arena_alloc(&call->arena, 32);
    if (buf == NULL)
        return SX_E_LIMIT;
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    out->ptr = buf;
    out->len = strlen(buf);
    return SX_OK;
}

/* ---- crypto helpers -------------------------------------------------------------------------- */

static int
api_hmac_sha256(sx_str key, sx_str msg, uint8_t out[32])
{
    return hub_crypto_hmac_sha256(key.ptr != NULL ? key.ptr : "", key.len,
                                  msg.ptr != NULL ? msg.ptr : "", msg.len, out) < 0 ?
           SX_E_INTERNAL : SX_OK;
}

static int
api_consttime_eq(sx_str a, sx_str b)
{
    return hub_crypto_consttime_eq(a.ptr != NULL ? a.ptr : "", a.len,
                                   b.ptr != NULL ? b.ptr : "", b.len);
}

static int
api_base64_encode(sx_ctx *cx, const uint8_t *data, size_t len, sx_str *out)
{
    struct hub_call *call = CALL_OF(cx);
    size_t           cap = hub_crypto_b64_encoded_len(len, HUB_B64_STD) + 1, n = 0;
    char            *buf = hub_arena_alloc(&call->arena, cap);

    if (buf == NULL)
        return SX_E_LIMIT;
    if (hub_crypto_b64_encode(data, len, HUB_B64_STD, buf, cap, &n) < 0)
        return SX_E_INTERNAL;
    out->ptr = buf;
    out->len = n;
    return SX_OK;
}

static int
api_hex_encode(sx_ctx *cx, const uint8_t *data, size_t len, sx_str *out)
{
    struct hub_call *call = CALL_OF(cx);
    char            *buf;

    if (len > HUB_JSON_MAX_BYTES)
        return SX_E_LIMIT;
    buf = hub_arena_alloc(&call->arena, len * 2 + 1);
    if (buf == NULL)
        return SX_E_LIMIT;
    if (hub_crypto_hex_encode(data, len, buf, len * 2 + 1) < 0)
        return SX_E_INTERNAL;
    out->ptr = buf;
    out->len = len * 2;
    return SX_OK;
}

static int
api_random_bytes(uint8_t *out, size_t len)
{
    return hub_crypto_random(out, len) < 0 ? SX_E_INTERNAL : SX_OK;
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
        return api_fail(cx, SX_E_INVALID, "rate_configure: policy header is not ABI %u",
                        SX_ABI_MAJOR);
    memset(&pol, 0, sizeof(pol));
    pol.kind = (int)p->kind;
    pol.capacity = p->capacity;
    pol.rate_milli = p->rate_milli;
    pol.max_concurrency = p->max_concurrency;
    pol.headroom = p->headroom;
    if (hub_rate_configure(call->inst->rt->rates, call->inst->account, &pol, &err) < 0)
        return api_fail(cx, SX_E_INVALID, "rate_configure: %s", err.msg);
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
        return api_fail(cx, SX_E_INVALID, "rate_observe: %u of %u is not a usage report",
                        used, limit);
    lim = hub_rate_get(call->inst->rt->rates, call->inst->account, &err);
    if (lim == NULL)
        return api_fail(cx, SX_E_INTERNAL, "rate_observe: %s", err.msg);
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
    int rc = api_secret_get(cx, key, out);

    if (rc == SX_E_NOT_FOUND)
        rc = api_config_get(cx, key, out);
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
            return api_fail(&call->cx, SX_E_AUTH, "no credential \"%s\" for this integration: "
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
            return api_fail(&call->cx, SX_E_AUTH, "no credential \"%s\" for this integration",
                            a->user_key);
        if (a->pass_key != NULL && cred_get(&call->cx, a->pass_key, &pass) != SX_OK)
            return api_fail(&call->cx, SX_E_AUTH, "no credential \"%s\" for this integration",
                            a->pass_key);
        plain = hub_arena_printf(&call->arena, "%.*s:%.*s", (int)user.len, user.ptr,
                                 (int)pass.len, pass.ptr != NULL ? pass.ptr : "");
        if (plain == NULL || api_base64_encode(&call->cx, (const uint8_t *)plain, strlen(plain),
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

static int
api_http(sx_ctx *cx, const sx_http_req *req, const sx_http_resp **out)
{
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
        return api_fail(cx, SX_E_UNSUPPORTED, "no HTTP client in this call");
    if (req == NULL || SX_ABI_VERSION_MAJOR(req->hdr.abi_version) != SX_ABI_MAJOR ||
        req->hdr.struct_size < SX_SIZE_THROUGH(sx_http_req, content_type))
        return api_fail(cx, SX_E_INVALID, "http: request header is not ABI %u (use "
                        "SX_HTTP_REQ_INIT)", SX_ABI_MAJOR);
    if (req->n_headers > HUB_HTTP_MAX_REQ_HEADERS - 4)
        return api_fail(cx, SX_E_LIMIT, "http: %u headers, at most %d", req->n_headers,
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
        return api_fail(cx, SX_E_INVALID, "http: empty URL");
    if (!(url.len > 7 && (strncmp(url.ptr, "http://", 7) == 0 ||
                          (url.len > 8 && strncmp(url.ptr, "https://", 8) == 0)))) {
        sx_str base;
        char  *full;

        if (api_config_get(cx, "base_url", &base) != SX_OK)
            return api_fail(cx, SX_E_INVALID, "http: relative URL but the integration has no "
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

    memset(&pol, 0, sizeof(pol));
    pol.max_attempts = inst->rt->http_max_attempts ? inst->rt->http_max_attempts : 5;
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
    .fail          = api_fail,
    .alloc         = api_alloc,
    .http          = api_http,
    .http_header   = api_http_header,
    .rate_configure = api_rate_configure,
    .rate_observe  = api_rate_observe,
    .json_parse    = api_json_parse,
    .json_get      = api_json_get,
    .json_type     = api_json_type,
    .json_length   = api_json_length,
    .json_at       = api_json_at,
    .json_string   = api_json_string,
    .json_int64    = api_json_int64,
    .json_bool     = api_json_bool,
    .json_text     = api_json_text,
    .emit          = api_emit,
    .emit_change   = api_emit_change,
    .state_get     = api_state_get,
    .state_set     = api_state_set,
    .config_get    = api_config_get,
    .secret_get    = api_secret_get,
    .secret_set    = api_secret_set,
    .now_ms        = api_now_ms,
    .time_parse    = api_time_parse,
    .time_format   = api_time_format,
    .hmac_sha256   = api_hmac_sha256,
    .consttime_eq  = api_consttime_eq,
    .base64_encode = api_base64_encode,
    .hex_encode    = api_hex_encode,
    .random_bytes  = api_random_bytes,
};

const sx_host_api *
hub_host_api(void)
{
    return &host_api;
}

/* ---- secrets at rest ------------------------------------------------------------------------- */

static void
secret_ad(char *ad, size_t cap, int64_t integration_id, const char *key)
{
    snprintf(ad, cap, "integration_secrets:%lld:%s", (long long)integration_id, key);
}

int
hub_secret_store(struct hub_db *db, const struct hub_crypto_keyring *keys, int64_t integration_id,
                 const char *key, const void *value, size_t len, struct hub_error *err)
{
    char        id[32], ad[300];
    uint8_t    *blob = NULL;
    size_t      blen = 0;
    const char *params[4];
    int         lens[4] = { 0, 0, 0, 0 }, fmts[4] = { 0, 0, 1, 0 };
    PGresult   *res;
    int         rc;

    secret_ad(ad, sizeof(ad), integration_id, key);
    rc = hub_crypto_seal_ad(keys, ad, strlen(ad), value, len, &blob, &blen, err);
    if (rc < 0)
        return rc;
    snprintf(id, sizeof(id), "%lld", (long long)integration_id);
    params[0] = id;
    params[1] = key;
    params[2] = (const char *)blob;
    lens[2] = (int)blen;
    params[3] = hub_crypto_keyring_active_id(keys);
    res = PQexecParams(db->conn,
                       "INSERT INTO integration_secrets (integration_id, key, value, key_id) "
                       "VALUES ($1, $2, $3, $4) ON CONFLICT (integration_id, key) DO UPDATE "
                       "SET value = EXCLUDED.value, key_id = EXCLUDED.key_id, updated_at = now()",
                       4, NULL, params, lens, fmts, 0);
    free(blob);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = hub_error_set(err, HUB_E_DB, "storing secret %s: %s", key,
                           PQerrorMessage(db->conn));
        PQclear(res);
        return rc;
    }
    PQclear(res);
    return 0;
}

int
hub_secret_load(struct hub_db *db, const struct hub_crypto_keyring *keys, int64_t integration_id,
                const char *key, char **out, size_t *len, struct hub_error *err)
{
    char        id[32], ad[300];
    const char *params[2];
    PGresult   *res;
    int         rc;

    *out = NULL;
    *len = 0;
    snprintf(id, sizeof(id), "%lld", (long long)integration_id);
    params[0] = id;
    params[1] = key;
    /* Binary result: the sealed blob as bytes. */
    res = PQexecParams(db->conn, "SELECT value FROM integration_secrets WHERE integration_id = $1 "
                       "AND key = $2", 2, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = hub_error_set(err, HUB_E_DB, "loading secret %s: %s", key, PQerrorMessage(db->conn));
        PQclear(res);
        return rc;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        return hub_error_set(err, HUB_E_NOT_FOUND, "no secret %s", key);
    }
    secret_ad(ad, sizeof(ad), integration_id, key);
    {
        uint8_t *plain = NULL;
        size_t   plen = 0;

        rc = hub_crypto_open_ad(keys, ad, strlen(ad), (const uint8_t *)PQgetvalue(res, 0, 0),
                                (size_t)PQgetlength(res, 0, 0), &plain, &plen, err);
        PQclear(res);
        if (rc < 0)
            return rc;
        *out = (char *)plain;
        *len = plen;
    }
    return 0;
}

/* ---- instances ------------------------------------------------------------------------------- */

int
hub_instance_open(struct hub_runtime *rt, struct hub_plugins *reg, const char *connector_id,
                  int64_t integration_id, const char *config_json, const char *account,
                  struct hub_db *db, struct hub_instance **out, struct hub_error *err)
{
    struct hub_instance *inst;
    struct hub_call      call;
    json_object         *cfg = NULL, *base = NULL;
    int                  rc;

    *out = NULL;
    if (config_json != NULL && config_json[0] != '\0') {
        cfg = json_tokener_parse(config_json);
        if (cfg == NULL || !json_object_is_type(cfg, json_type_object)) {
            json_object_put(cfg);
            return hub_error_set(err, HUB_E_INVALID, "integration %lld: config is not a JSON "
                                 "object", (long long)integration_id);
        }
    }
    inst = calloc(1, sizeof(*inst));
    if (inst == NULL) {
        json_object_put(cfg);
        return hub_error_set(err, HUB_E_NOMEM, "out of memory");
    }
    inst->plugin = hub_plugins_acquire(reg, connector_id);
    if (inst->plugin == NULL) {
        json_object_put(cfg);
        free(inst);
        return hub_error_set(err, HUB_E_NOT_FOUND, "connector \"%s\" is not loaded in this hub",
                             connector_id);
    }
    inst->rt = rt;
    inst->reg = reg;
    inst->integration_id = integration_id;
    inst->config = cfg;
    pthread_mutex_init(&inst->lock, NULL);
    if (account == NULL && cfg != NULL && json_object_object_get_ex(cfg, "base_url", &base) &&
        json_object_is_type(base, json_type_string))
        account = json_object_get_string(base);
    if (account != NULL)
        snprintf(inst->account, sizeof(inst->account), "%s:%s", connector_id, account);
    else
        snprintf(inst->account, sizeof(inst->account), "%s:integration-%lld", connector_id,
                 (long long)integration_id);

    if (inst->plugin->desc.instance_new != NULL) {
        hub_call_begin(&call, inst, db);
        rc = inst->plugin->desc.instance_new(&call.cx, &inst->state);
        rc = hub_call_result(&call, rc, "instance_new()");
        if (rc < 0)
            hub_error_set(err, HUB_E_PLUGIN, "%s: instance_new: %s", connector_id, call.err.msg);
        hub_call_end(&call);
        if (rc < 0) {
            inst->state = NULL;
            hub_instance_close(inst);
            return HUB_E_PLUGIN;
        }
    }
    *out = inst;
    return 0;
}

void
hub_instance_close(struct hub_instance *inst)
{
    if (inst == NULL)
        return;
    if (inst->state != NULL && inst->plugin->desc.instance_free != NULL)
        inst->plugin->desc.instance_free(inst->state);
    json_object_put(inst->config);
    pthread_mutex_destroy(&inst->lock);
    hub_plugins_release(inst->reg, inst->plugin);
    free(inst);
}

int
hub_instance_test_connection(struct hub_instance *inst, struct hub_db *db, struct hub_error *err)
{
    struct hub_call call;
    int             rc;

    hub_call_begin(&call, inst, db);
    rc = inst->plugin->desc.test_connection(&call.cx);
    rc = hub_call_result(&call, rc, "test_connection()");
    if (rc < 0)
        hub_error_set(err, rc, "%s", call.err.msg);
    hub_call_end(&call);
    return rc;
}

int
hub_instance_list(struct hub_instance *inst, struct hub_db *db, uint32_t entity,
                  const char *cursor, int64_t updated_since_ms, uint32_t page_size,
                  hub_emit_fn emit, void *arg, char *next_cursor, size_t cap, int *has_more,
                  struct hub_error *err)
{
    const sx_entity_ops *ops = hub_plugin_entity(inst->plugin, entity);
    struct hub_call      call;
    sx_list_req          req;
    sx_list_res          res;
    int                  rc;

    *has_more = 0;
    if (ops == NULL || !(ops->directions & SX_DIR_IMPORT)) {
        next_cursor[0] = '\0';
        return hub_error_set(err, HUB_E_UNSUPPORTED, "%s does not import %s", inst->plugin->id,
                             sx_entity_name(entity));
    }
    memset(&req, 0, sizeof(req));
    req.hdr.abi_version = SX_ABI_VERSION;
    req.hdr.struct_size = sizeof(req);
    req.entity = entity;
    req.page_size = page_size;
    req.cursor = sx_cstr(cursor != NULL ? cursor : "");
    req.updated_since_ms = updated_since_ms;
    memset(&res, 0, sizeof(res));
    res.hdr.abi_version = SX_ABI_VERSION;
    res.hdr.struct_size = sizeof(res);

    hub_call_begin(&call, inst, db);
    call.emit = emit;
    call.sink_arg = arg;
    rc = ops->list(&call.cx, &req, &res);
    rc = hub_call_result(&call, rc, "list()");
    /* Only now: `cursor` may be the same buffer as `next_cursor`. */
    next_cursor[0] = '\0';
    if (rc < 0) {
        hub_error_set(err, rc, "%s", call.err.msg);
    } else if (res.next_cursor.len > 0) {
        /* Validate what the plugin returned before trusting it. */
        if (res.next_cursor.ptr == NULL || res.next_cursor.len >= cap ||
            memchr(res.next_cursor.ptr, '\0', res.next_cursor.len) != NULL) {
            rc = hub_error_set(err, HUB_E_PROTOCOL, "%s list(%s) returned an invalid or "
                               "oversized cursor (%zu bytes)", inst->plugin->id,
                               sx_entity_name(entity), res.next_cursor.len);
        } else {
            memcpy(next_cursor, res.next_cursor.ptr, res.next_cursor.len);
            next_cursor[res.next_cursor.len] = '\0';
            *has_more = 1;
        }
    }
    hub_call_end(&call);
    return rc;
}
