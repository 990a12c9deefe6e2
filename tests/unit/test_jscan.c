/*
 * host/core/jscan: the allocation-free JSON scanner the sync engine reads records with, and
 * hub_sync_page_add on top of it. Strict JSON accepted and refused the way json-c's strict
 * mode does on a table of cases; member spans, string decoding (escapes, surrogate pairs,
 * \u0000 refused), duplicate and escaped keys, arrays and their limit, nesting depth; the
 * record checks (external_id, updated_at, other times, deleted) and the content hash, which
 * ignores "raw" and changes with anything else.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/jscan.h"
#include "crypto/crypto.h"
#include "sync/apply.h"

/* json-c in strict mode, as the reference: 1 when `s` is one JSON object. */
static int
jsonc_object(const char *s)
{
    struct json_tokener *tok = json_tokener_new_ex(64);
    json_object         *o;
    int                  ok;

    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    o = json_tokener_parse_ex(tok, s, (int)strlen(s));
    ok = o != NULL && json_tokener_get_error(tok) == json_tokener_success &&
         json_object_is_type(o, json_type_object) &&
         (size_t)json_tokener_get_parse_end(tok) == strlen(s);
    json_object_put(o);
    json_tokener_free(tok);
    return ok;
}

static int
scan(const char *s)
{
    struct hub_jscan_member m[64];
    struct hub_error        err;
    size_t                  n;

    return hub_jscan_object(s, strlen(s), 64, m, 64, &n, &err) == 0;
}

static void
test_accept_refuse(void)
{
    static const char *const good[] = {
        "{}", " { } ", "{\"a\":1}", "{\"a\":-0.5e+10,\"b\":[1,2,{\"c\":null}],\"d\":true}",
        "{\"a\":\"\\u00e9\\n\\\"\\\\\\/\"}", "{\"a\":[]}", "{\"a\":{}}", "{\"a\":0}",
        "{\"a\":1E5}", "{\"a\":\"\xc3\xa9\"}", "{\"a\" : \"b\" , \"c\" :false}\n",
        "{\"\":\"empty key\"}", "{\"a\":[[[[]]]]}",
    };
    static const char *const bad[] = {
        "", " ", "[]", "\"s\"", "1", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}",
        "{\"a\":1 \"b\":2}", "{a:1}", "{'a':1}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}",
        "{\"a\":+1}", "{\"a\":1e}", "{\"a\":tru}", "{\"a\":nul}", "{\"a\":\"\\x\"}",
        "{\"a\":\"\\u12\"}", "{\"a\":\"line\nbreak\"}", "{\"a\":1}{}", "{\"a\":1} x",
        "{\"a\":[1,]}", "{\"a\":[,1]}", "{\"a\":\"unterminated}", "{\"a\":NaN}",
        "{\"a\":1 /* c */}", "{\"a\":-}", "{\"a\":\"tab\there\"}",
    };
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (!scan(good[i]))
            fprintf(stderr, "  refused: %s\n", good[i]);
        CHECK(scan(good[i]));
        CHECK(jsonc_object(good[i]));
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (scan(bad[i]))
            fprintf(stderr, "  accepted: %s\n", bad[i]);
        CHECK(!scan(bad[i]));
    }
}

static void
test_members_and_strings(void)
{
    const char *s = "{\"id\":\"a\\\"b\",\"n\":12.5,\"o\":{\"x\":[1,\"}\"]},\"id\":\"last\","
                    "\"k\\u0065y\":true,\"pair\":\"\\ud83d\\ude00\",\"lone\":\"\\ud800x\","
                    "\"nul\":\"a\\u0000b\"}";
    struct hub_jscan_member        m[16];
    const struct hub_jscan_member *v;
    struct hub_error               err;
    char                           out[64];
    size_t                         n = 0;

    REQUIRE(hub_jscan_object(s, strlen(s), 64, m, 16, &n, &err) == 0);
    CHECK_EQ(8, (long long)n);
    CHECK_EQ(HUB_JSCAN_STRING, m[0].type);
    CHECK_EQ(HUB_JSCAN_NUMBER, m[1].type);
    CHECK_EQ(HUB_JSCAN_OBJECT, m[2].type);
    CHECK_MEM_EQ("{\"x\":[1,\"}\"]}", 13, m[2].val, m[2].val_len);
    CHECK_MEM_EQ("\"n\":12.5", 8, m[1].start, (size_t)(m[1].val + m[1].val_len - m[1].start));
    /* Duplicate keys: the last one, as json-c keeps. */
    v = hub_jscan_find(m, n, "id");
    REQUIRE(v != NULL);
    CHECK_EQ(4, hub_jscan_string(v->val, v->val_len, out, sizeof(out)));
    CHECK_STR_EQ("last", out);
    CHECK_EQ(3, hub_jscan_string(m[0].val, m[0].val_len, out, sizeof(out)));
    CHECK_STR_EQ("a\"b", out);
    /* An escaped key is found by its decoded name. */
    v = hub_jscan_find(m, n, "key");
    REQUIRE(v != NULL);
    CHECK_EQ(HUB_JSCAN_TRUE, v->type);
    CHECK(hub_jscan_find(m, n, "missing") == NULL);
    /* A surrogate pair is one code point; a lone surrogate is U+FFFD; \u0000 is refused. */
    v = hub_jscan_find(m, n, "pair");
    CHECK_EQ(4, hub_jscan_string(v->val, v->val_len, out, sizeof(out)));
    CHECK_STR_EQ("\xf0\x9f\x98\x80", out);
    v = hub_jscan_find(m, n, "lone");
    CHECK_EQ(4, hub_jscan_string(v->val, v->val_len, out, sizeof(out)));
    CHECK_STR_EQ("\xef\xbf\xbdx", out);
    v = hub_jscan_find(m, n, "nul");
    CHECK_EQ(-1, hub_jscan_string(v->val, v->val_len, out, sizeof(out)));
    /* Does not fit: -1, nothing past cap. */
    CHECK_EQ(-1, hub_jscan_string("\"abcdef\"", 8, out, 4));
    CHECK_EQ(3, hub_jscan_string("\"abc\"", 5, out, 4));
}

static void
test_limits(void)
{
    struct hub_jscan_member m[4];
    struct hub_error        err;
    char                    deep[256];
    size_t                  n = 0, i;

    CHECK_EQ(HUB_E_LIMIT, hub_jscan_object("{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5}", 31, 8,
                                           m, 4, &n, &err));
    CHECK_EQ(5, (long long)n);
    CHECK_EQ(0, hub_jscan_array("[1, \"x\", {\"a\":[]}, null]", 24, 8, m, 4, &n, &err));
    CHECK_EQ(4, (long long)n);
    CHECK_EQ(HUB_JSCAN_OBJECT, m[2].type);
    CHECK_MEM_EQ("{\"a\":[]}", 8, m[2].val, m[2].val_len);
    CHECK_EQ(HUB_E_LIMIT, hub_jscan_array("[1,2,3,4,5]", 11, 8, m, 4, &n, &err));
    CHECK_EQ(HUB_E_INVALID, hub_jscan_array("{}", 2, 8, m, 4, &n, &err));
    /* Nesting: the object and 8 arrays are 9 levels: a limit of 9 passes, 8 does not. */
    strcpy(deep, "{\"a\":");
    for (i = 0; i < 8; i++)
        strcat(deep, "[");
    strcat(deep, "1");
    for (i = 0; i < 8; i++)
        strcat(deep, "]");
    strcat(deep, ",\"b\":{}}");
    CHECK_EQ(0, hub_jscan_object(deep, strlen(deep), 9, m, 4, &n, &err));
    CHECK_EQ(HUB_E_INVALID, hub_jscan_object(deep, strlen(deep), 8, m, 4, &n, &err));
    CHECK_STR_HAS(err.msg, "nested too deep");
    CHECK_EQ(HUB_E_INVALID, hub_jscan_object("{\"a\":1,}", 8, 8, m, 4, &n, &err));
    CHECK_STR_HAS(err.msg, "byte 7");
}

static const char *
hash_of(struct hub_sync_page *pg, const char *json, struct hub_error *err)
{
    hub_sync_page_reset(pg);
    if (hub_sync_page_add(pg, json, strlen(json), err) != 0)
        return NULL;
    return pg->recs[0].hash;
}

static void
test_page_add(void)
{
    struct hub_sync_page pg;
    struct hub_error     err;
    char                 h1[65], h2[65];
    const char          *h;

    hub_sync_page_init(&pg);
    h = hash_of(&pg, "{\"external_id\":\"7\",\"updated_at\":\"2024-01-01T00:00:00Z\",\"name\":"
                "\"A\",\"raw\":{\"noise\":1}}", &err);
    REQUIRE(h != NULL);
    snprintf(h1, sizeof(h1), "%s", h);
    CHECK_STR_EQ("7", pg.recs[0].ext);
    CHECK_EQ(1704067200000LL, pg.recs[0].upd_ms);
    CHECK_EQ(0, pg.recs[0].deleted);
    /* raw is not hashed, wherever it is... */
    h = hash_of(&pg, "{\"raw\":{\"noise\":2},\"external_id\":\"7\",\"updated_at\":"
                "\"2024-01-01T00:00:00Z\",\"name\":\"A\"}", &err);
    REQUIRE(h != NULL);
    CHECK_STR_EQ(h1, h);
    /* ...and the hash is the text of the other members. */
    h = hash_of(&pg, "{\"external_id\":\"7\",\"updated_at\":\"2024-01-01T00:00:00Z\","
                "\"name\":\"A\"}", &err);
    CHECK_STR_EQ(h1, h);
    {
        const char *text = "{\"external_id\":\"7\",\"updated_at\":\"2024-01-01T00:00:00Z\","
                           "\"name\":\"A\"}";
        char        want[65];

        REQUIRE(hub_crypto_sha256_hex(text, strlen(text), want) == 0);
        CHECK_STR_EQ(want, h1);
    }
    h = hash_of(&pg, "{\"external_id\":\"7\",\"updated_at\":\"2024-01-01T00:00:00Z\","
                "\"name\":\"B\",\"raw\":{\"noise\":1}}", &err);
    REQUIRE(h != NULL);
    snprintf(h2, sizeof(h2), "%s", h);
    CHECK(strcmp(h1, h2) != 0);
    /* deleted, escapes in the id */
    REQUIRE(hash_of(&pg, "{\"external_id\":\"a\\/b\",\"updated_at\":\"2024-01-01T00:00:00.5+01:00\","
                    "\"deleted\":true}", &err) != NULL);
    CHECK_STR_EQ("a/b", pg.recs[0].ext);
    CHECK_EQ(1, pg.recs[0].deleted);
    CHECK_EQ(1704063600500LL, pg.recs[0].upd_ms);
    /* Refusals, each with its reason. */
    CHECK(hash_of(&pg, "{\"external_id\":\"7\",\"updated_at\":\"2024-01-01T00:00:00Z\",}",
                  &err) == NULL);
    CHECK_STR_HAS(err.msg, "not a JSON object");
    CHECK(hash_of(&pg, "[1]", &err) == NULL);
    CHECK(hash_of(&pg, "{\"external_id\":7,\"updated_at\":\"2024-01-01T00:00:00Z\"}", &err) ==
          NULL);
    CHECK_STR_HAS(err.msg, "external_id");
    CHECK(hash_of(&pg, "{\"external_id\":\"\",\"updated_at\":\"2024-01-01T00:00:00Z\"}", &err) ==
          NULL);
    CHECK(hash_of(&pg, "{\"external_id\":\"7\"}", &err) == NULL);
    CHECK_STR_HAS(err.msg, "updated_at");
    CHECK(hash_of(&pg, "{\"external_id\":\"7\",\"updated_at\":\"yesterday\"}", &err) == NULL);
    CHECK(hash_of(&pg, "{\"external_id\":\"7\",\"updated_at\":\"2024-01-01T00:00:00Z\","
                  "\"created_at\":\"2024-01-01T00:00:00+01:00\"}", &err) == NULL);
    CHECK_STR_HAS(err.msg, "created_at");
    CHECK(hash_of(&pg, "{\"external_id\":\"7\",\"updated_at\":\"2024-01-01T00:00:00Z\","
                  "\"paid_at\":5}", &err) == NULL);
    CHECK(hash_of(&pg, "{\"external_id\":\"7\",\"updated_at\":\"2024-01-01T00:00:00Z\","
                  "\"cancelled_at\":null,\"created_at\":\"2024-01-01T00:00:00.123Z\"}", &err) !=
          NULL);
    hub_sync_page_free(&pg);
}

int
main(void)
{
    RUN_TEST(test_accept_refuse);
    RUN_TEST(test_members_and_strings);
    RUN_TEST(test_limits);
    RUN_TEST(test_page_add);
    return check_report();
}
