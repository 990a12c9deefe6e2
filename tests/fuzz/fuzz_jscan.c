/*
 * Fuzz target: the allocation-free JSON scanner (host/core/jscan.c), which reads every record
 * a connector emits (a plugin's return value), and hub_sync_page_add on top of it.
 *
 * Differential against json-c in strict mode:
 *   - whatever the scanner accepts as an object, json-c accepts as an object, with the same
 *     top-level keys, and every top-level string member decodes to the bytes json-c gives
 *     (inputs with \u0000 are left out: the scanner refuses to decode it, json-c cuts C
 *     strings there);
 *   - array elements listed by hub_jscan_array are each accepted again on their own.
 * For both: spans stay inside the input, never past it (AddressSanitizer), and
 * hub_sync_page_add never accepts a record the scanner refuses.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jscan.h"
#include "sync/apply.h"

#include "fuzz_check.h"

#define CAP 64

static json_object *
jsonc_parse(const char *s, size_t len)
{
    struct json_tokener *tok = json_tokener_new_ex(64);
    json_object         *o;
    size_t               end;

    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    o = json_tokener_parse_ex(tok, s, (int)len);
    if (o != NULL && json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(o);
        o = NULL;
    }
    end = o != NULL ? json_tokener_get_parse_end(tok) : 0;
    json_tokener_free(tok);
    for (; o != NULL && end < len; end++) {
        if (s[end] != ' ' && s[end] != '\t' && s[end] != '\n' && s[end] != '\r') {
            json_object_put(o);
            o = NULL;
        }
    }
    return o;
}

static void
within(const char *base, size_t size, const char *p, size_t len)
{
    FUZZ_CHECK(p >= base && p + len <= base + size);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hub_jscan_member m[CAP], el[CAP];
    struct hub_error        err;
    struct hub_sync_page    pg;
    const char             *s = (const char *)data;
    size_t                  n = 0, ne = 0, i;
    int                     rc, arc;

    if (size > 1 << 20)
        return 0;
    rc = hub_jscan_object(s, size, 16, m, CAP, &n, &err);
    arc = hub_jscan_array(s, size, 16, el, CAP, &ne, &err);
    FUZZ_CHECK(rc != 0 || arc != 0);          /* never both */

    hub_sync_page_init(&pg);
    if (hub_sync_page_add(&pg, s, size, &err) == 0) {
        size_t n2 = 0;

        FUZZ_CHECK(hub_jscan_object(s, size, 64, m, CAP, &n2, &err) != HUB_E_INVALID);
    }
    hub_sync_page_free(&pg);

    if (rc == 0) {
        json_object *o = memchr(s, '\0', size) == NULL ? jsonc_parse(s, size) : NULL;
        size_t       distinct = 0;

        for (i = 0; i < n; i++) {
            within(s, size, m[i].start, (size_t)(m[i].val + m[i].val_len - m[i].start));
            within(s, size, m[i].key, m[i].key_len);
        }
        if (memchr(s, '\0', size) != NULL || memmem(s, size, "\\u0000", 6) != NULL) {
            json_object_put(o);
            return 0;    /* json-c stops at a NUL byte, and cuts keys at an escaped one */
        }
        FUZZ_CHECK(o != NULL && json_object_is_type(o, json_type_object));
        for (i = 0; i < n; i++) {
            char                           key[256], val[1024];
            ssize_t                        kl, vl;
            const struct hub_jscan_member *last;
            json_object                   *jv;

            kl = hub_jscan_string(m[i].key - 1, m[i].key_len + 2, key, sizeof(key));
            if (kl < 0 || (size_t)kl != strlen(key))
                continue;                      /* too long, or \u0000 in the key */
            last = hub_jscan_find(m, n, key);
            FUZZ_CHECK(last != NULL);
            if (last != &m[i])
                continue;                      /* a duplicate: json-c keeps the last */
            distinct++;
            FUZZ_CHECK(json_object_object_get_ex(o, key, &jv));
            if (m[i].type == HUB_JSCAN_STRING) {
                FUZZ_CHECK(json_object_is_type(jv, json_type_string));
                vl = hub_jscan_string(m[i].val, m[i].val_len, val, sizeof(val));
                if (vl >= 0) {
                    FUZZ_CHECK((size_t)vl == (size_t)json_object_get_string_len(jv));
                    FUZZ_CHECK(memcmp(val, json_object_get_string(jv), (size_t)vl) == 0);
                }
            } else if (m[i].type == HUB_JSCAN_OBJECT) {
                FUZZ_CHECK(json_object_is_type(jv, json_type_object));
            } else if (m[i].type == HUB_JSCAN_ARRAY) {
                FUZZ_CHECK(json_object_is_type(jv, json_type_array));
            } else if (m[i].type == HUB_JSCAN_TRUE || m[i].type == HUB_JSCAN_FALSE) {
                FUZZ_CHECK(json_object_is_type(jv, json_type_boolean));
            } else if (m[i].type == HUB_JSCAN_NULL) {
                FUZZ_CHECK(jv == NULL);
            }
        }
        if (n <= CAP)
            FUZZ_CHECK(distinct <= (size_t)json_object_object_length(o));
        json_object_put(o);
    }
    if (arc == 0) {
        for (i = 0; i < ne && i < CAP; i++) {
            size_t k = 0;

            within(s, size, el[i].val, el[i].val_len);
            if (el[i].type == HUB_JSCAN_OBJECT)
                FUZZ_CHECK(hub_jscan_object(el[i].val, el[i].val_len, 16, m, CAP, &k, &err) !=
                           HUB_E_INVALID);
            else if (el[i].type == HUB_JSCAN_ARRAY)
                FUZZ_CHECK(hub_jscan_array(el[i].val, el[i].val_len, 16, m, CAP, &k, &err) !=
                           HUB_E_INVALID);
        }
    }
    return 0;
}
