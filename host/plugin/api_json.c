/* The JSON services of the host table: json-c trees owned by the call, bounded in size and depth. */
#include "plugin/api_internal.h"
#include "core/buf.h"
#include "core/log.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

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

int
hub_api_json_parse(sx_ctx *cx, sx_str text, const sx_json **out)
{
    struct hub_call      *call = CALL_OF(cx);
    struct json_tokener  *tok;
    json_object          *root;
    enum json_tokener_error jerr;

    *out = NULL;
    if (text.len > HUB_JSON_MAX_BYTES)
        return hub_api_fail(cx, SX_E_LIMIT, "JSON document of %zu bytes is over the %u-byte limit",
                        text.len, HUB_JSON_MAX_BYTES);
    if (text.len == 0 || text.ptr == NULL)
        return hub_api_fail(cx, SX_E_PROTOCOL, "empty JSON document");
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
        return hub_api_fail(cx, rc, "invalid JSON (%s)",
                        jerr == json_tokener_success ? "trailing data" :
                        json_tokener_error_desc(jerr));
    }
    json_tokener_free(tok);
    if (keep_root(call, root) != SX_OK) {
        json_object_put(root);
        return hub_api_fail(cx, SX_E_LIMIT, "too many JSON documents in one call");
    }
    *out = (const sx_json *)root;
    return SX_OK;
}

const sx_json *
hub_api_json_get(const sx_json *obj, const char *key)
{
    json_object *v = NULL;

    if (obj == NULL || key == NULL || !json_object_is_type((json_object *)obj, json_type_object))
        return NULL;
    if (!json_object_object_get_ex((json_object *)obj, key, &v))
        return NULL;
    return (const sx_json *)v;
}

uint32_t
hub_api_json_type(const sx_json *v)
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

size_t
hub_api_json_length(const sx_json *arr)
{
    if (arr == NULL || !json_object_is_type((json_object *)arr, json_type_array))
        return 0;
    return json_object_array_length((json_object *)arr);
}

const sx_json *
hub_api_json_at(const sx_json *arr, size_t index)
{
    if (index >= hub_api_json_length(arr))
        return NULL;
    return (const sx_json *)json_object_array_get_idx((json_object *)arr, index);
}

int
hub_api_json_string(const sx_json *v, sx_str *out)
{
    if (v == NULL || !json_object_is_type((json_object *)v, json_type_string))
        return SX_E_INVALID;
    out->ptr = json_object_get_string((json_object *)v);
    out->len = (size_t)json_object_get_string_len((json_object *)v);
    return SX_OK;
}

int
hub_api_json_int64(const sx_json *v, int64_t *out)
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

int
hub_api_json_bool(const sx_json *v, int *out)
{
    if (v == NULL || !json_object_is_type((json_object *)v, json_type_boolean))
        return SX_E_INVALID;
    *out = json_object_get_boolean((json_object *)v) ? 1 : 0;
    return SX_OK;
}

int
hub_api_json_text(sx_ctx *cx, const sx_json *v, sx_str *out)
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

