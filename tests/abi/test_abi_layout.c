/*
 * Pins the layout of every ABI struct of SDK 1.0 on LP64 (x86_64, aarch64). A change that moves
 * a field or resizes a struct fails to compile here: append new fields at the marked line,
 * bump SX_ABI_MINOR, and add the new pins under a "1.1" block instead of editing these
 * (sdk/ABI.md, rule 6). The numbers were generated from the 1.0 headers and are never edited.
 */
#include <simplix/simplix.h>
#include <stddef.h>
#include <string.h>

#include "check.h"

#if defined(__LP64__)
_Static_assert(sizeof(sx_header) == 8, "sx_header size");
_Static_assert(sizeof(sx_str) == 16, "sx_str size");
_Static_assert(sizeof(sx_ctx) == 24, "sx_ctx size");
_Static_assert(sizeof(sx_http_header) == 32, "sx_http_header size");
_Static_assert(sizeof(sx_http_req) == 96, "sx_http_req size");
_Static_assert(sizeof(sx_http_resp) == 48, "sx_http_resp size");
_Static_assert(sizeof(sx_rate_policy) == 32, "sx_rate_policy size");
_Static_assert(sizeof(sx_host_api) == 256, "sx_host_api size");
_Static_assert(sizeof(sx_config_field) == 24, "sx_config_field size");
_Static_assert(sizeof(sx_list_req) == 40, "sx_list_req size");
_Static_assert(sizeof(sx_list_res) == 32, "sx_list_res size");
_Static_assert(SX_SIZE_THROUGH(sx_push_res, canonical_json) == 48, "sx_push_res 1.0 size");
_Static_assert(SX_SIZE_THROUGH(sx_entity_ops, push) == 32, "sx_entity_ops 1.0 size");
_Static_assert(sizeof(sx_token) == 88, "sx_token size");
_Static_assert(sizeof(sx_kv) == 32, "sx_kv size");
_Static_assert(sizeof(sx_auth_ops) == 80, "sx_auth_ops size");
_Static_assert(sizeof(sx_webhook_req) == 72, "sx_webhook_req size");
_Static_assert(sizeof(sx_webhook_ops) == 80, "sx_webhook_ops size");
_Static_assert(sizeof(sx_connector) == 104, "sx_connector size");
_Static_assert(offsetof(sx_ctx, host) == 8, "sx_ctx.host");
_Static_assert(offsetof(sx_ctx, state) == 16, "sx_ctx.state");
_Static_assert(offsetof(sx_http_req, method) == 8, "sx_http_req.method");
_Static_assert(offsetof(sx_http_req, flags) == 12, "sx_http_req.flags");
_Static_assert(offsetof(sx_http_req, url) == 16, "sx_http_req.url");
_Static_assert(offsetof(sx_http_req, query) == 32, "sx_http_req.query");
_Static_assert(offsetof(sx_http_req, headers) == 48, "sx_http_req.headers");
_Static_assert(offsetof(sx_http_req, n_headers) == 56, "sx_http_req.n_headers");
_Static_assert(offsetof(sx_http_req, timeout_ms) == 60, "sx_http_req.timeout_ms");
_Static_assert(offsetof(sx_http_req, body) == 64, "sx_http_req.body");
_Static_assert(offsetof(sx_http_req, content_type) == 80, "sx_http_req.content_type");
_Static_assert(offsetof(sx_http_resp, status) == 8, "sx_http_resp.status");
_Static_assert(offsetof(sx_http_resp, n_headers) == 12, "sx_http_resp.n_headers");
_Static_assert(offsetof(sx_http_resp, headers) == 16, "sx_http_resp.headers");
_Static_assert(offsetof(sx_http_resp, body) == 24, "sx_http_resp.body");
_Static_assert(offsetof(sx_http_resp, attempts) == 40, "sx_http_resp.attempts");
_Static_assert(offsetof(sx_rate_policy, kind) == 8, "sx_rate_policy.kind");
_Static_assert(offsetof(sx_rate_policy, capacity) == 12, "sx_rate_policy.capacity");
_Static_assert(offsetof(sx_rate_policy, rate_milli) == 16, "sx_rate_policy.rate_milli");
_Static_assert(offsetof(sx_rate_policy, max_concurrency) == 20, "sx_rate_policy.max_concurrency");
_Static_assert(offsetof(sx_rate_policy, headroom) == 24, "sx_rate_policy.headroom");
_Static_assert(offsetof(sx_host_api, log) == 8, "sx_host_api.log");
_Static_assert(offsetof(sx_host_api, fail) == 16, "sx_host_api.fail");
_Static_assert(offsetof(sx_host_api, alloc) == 24, "sx_host_api.alloc");
_Static_assert(offsetof(sx_host_api, http) == 32, "sx_host_api.http");
_Static_assert(offsetof(sx_host_api, http_header) == 40, "sx_host_api.http_header");
_Static_assert(offsetof(sx_host_api, rate_configure) == 48, "sx_host_api.rate_configure");
_Static_assert(offsetof(sx_host_api, rate_observe) == 56, "sx_host_api.rate_observe");
_Static_assert(offsetof(sx_host_api, json_parse) == 64, "sx_host_api.json_parse");
_Static_assert(offsetof(sx_host_api, json_get) == 72, "sx_host_api.json_get");
_Static_assert(offsetof(sx_host_api, json_type) == 80, "sx_host_api.json_type");
_Static_assert(offsetof(sx_host_api, json_length) == 88, "sx_host_api.json_length");
_Static_assert(offsetof(sx_host_api, json_at) == 96, "sx_host_api.json_at");
_Static_assert(offsetof(sx_host_api, json_string) == 104, "sx_host_api.json_string");
_Static_assert(offsetof(sx_host_api, json_int64) == 112, "sx_host_api.json_int64");
_Static_assert(offsetof(sx_host_api, json_bool) == 120, "sx_host_api.json_bool");
_Static_assert(offsetof(sx_host_api, json_text) == 128, "sx_host_api.json_text");
_Static_assert(offsetof(sx_host_api, emit) == 136, "sx_host_api.emit");
_Static_assert(offsetof(sx_host_api, emit_change) == 144, "sx_host_api.emit_change");
_Static_assert(offsetof(sx_host_api, state_get) == 152, "sx_host_api.state_get");
_Static_assert(offsetof(sx_host_api, state_set) == 160, "sx_host_api.state_set");
_Static_assert(offsetof(sx_host_api, config_get) == 168, "sx_host_api.config_get");
_Static_assert(offsetof(sx_host_api, secret_get) == 176, "sx_host_api.secret_get");
_Static_assert(offsetof(sx_host_api, secret_set) == 184, "sx_host_api.secret_set");
_Static_assert(offsetof(sx_host_api, now_ms) == 192, "sx_host_api.now_ms");
_Static_assert(offsetof(sx_host_api, time_parse) == 200, "sx_host_api.time_parse");
_Static_assert(offsetof(sx_host_api, time_format) == 208, "sx_host_api.time_format");
_Static_assert(offsetof(sx_host_api, hmac_sha256) == 216, "sx_host_api.hmac_sha256");
_Static_assert(offsetof(sx_host_api, consttime_eq) == 224, "sx_host_api.consttime_eq");
_Static_assert(offsetof(sx_host_api, base64_encode) == 232, "sx_host_api.base64_encode");
_Static_assert(offsetof(sx_host_api, hex_encode) == 240, "sx_host_api.hex_encode");
_Static_assert(offsetof(sx_host_api, random_bytes) == 248, "sx_host_api.random_bytes");
_Static_assert(offsetof(sx_config_field, kind) == 8, "sx_config_field.kind");
_Static_assert(offsetof(sx_config_field, flags) == 12, "sx_config_field.flags");
_Static_assert(offsetof(sx_config_field, help) == 16, "sx_config_field.help");
_Static_assert(offsetof(sx_list_req, entity) == 8, "sx_list_req.entity");
_Static_assert(offsetof(sx_list_req, page_size) == 12, "sx_list_req.page_size");
_Static_assert(offsetof(sx_list_req, cursor) == 16, "sx_list_req.cursor");
_Static_assert(offsetof(sx_list_req, updated_since_ms) == 32, "sx_list_req.updated_since_ms");
_Static_assert(offsetof(sx_list_res, next_cursor) == 8, "sx_list_res.next_cursor");
_Static_assert(offsetof(sx_list_res, has_more) == 24, "sx_list_res.has_more");
_Static_assert(offsetof(sx_push_res, external_id) == 8, "sx_push_res.external_id");
_Static_assert(offsetof(sx_push_res, external_updated_at) == 24, "sx_push_res.external_updated_at");
_Static_assert(offsetof(sx_push_res, canonical_json) == 32, "sx_push_res.canonical_json");
_Static_assert(offsetof(sx_entity_ops, entity) == 8, "sx_entity_ops.entity");
_Static_assert(offsetof(sx_entity_ops, directions) == 12, "sx_entity_ops.directions");
_Static_assert(offsetof(sx_entity_ops, list) == 16, "sx_entity_ops.list");
_Static_assert(offsetof(sx_entity_ops, push) == 24, "sx_entity_ops.push");
_Static_assert(offsetof(sx_token, access_token) == 8, "sx_token.access_token");
_Static_assert(offsetof(sx_token, refresh_token) == 24, "sx_token.refresh_token");
_Static_assert(offsetof(sx_token, expires_in_s) == 40, "sx_token.expires_in_s");
_Static_assert(offsetof(sx_token, refresh_expires_in_s) == 48, "sx_token.refresh_expires_in_s");
_Static_assert(offsetof(sx_token, scope) == 56, "sx_token.scope");
_Static_assert(offsetof(sx_token, account_json) == 72, "sx_token.account_json");
_Static_assert(offsetof(sx_auth_ops, apply) == 8, "sx_auth_ops.apply");
_Static_assert(offsetof(sx_auth_ops, header_name) == 16, "sx_auth_ops.header_name");
_Static_assert(offsetof(sx_auth_ops, token_key) == 24, "sx_auth_ops.token_key");
_Static_assert(offsetof(sx_auth_ops, user_key) == 32, "sx_auth_ops.user_key");
_Static_assert(offsetof(sx_auth_ops, pass_key) == 40, "sx_auth_ops.pass_key");
_Static_assert(offsetof(sx_auth_ops, sign) == 48, "sx_auth_ops.sign");
_Static_assert(offsetof(sx_auth_ops, authorize_url) == 56, "sx_auth_ops.authorize_url");
_Static_assert(offsetof(sx_auth_ops, exchange_code) == 64, "sx_auth_ops.exchange_code");
_Static_assert(offsetof(sx_auth_ops, refresh) == 72, "sx_auth_ops.refresh");
_Static_assert(offsetof(sx_webhook_req, headers) == 8, "sx_webhook_req.headers");
_Static_assert(offsetof(sx_webhook_req, n_headers) == 16, "sx_webhook_req.n_headers");
_Static_assert(offsetof(sx_webhook_req, body) == 24, "sx_webhook_req.body");
_Static_assert(offsetof(sx_webhook_req, url) == 40, "sx_webhook_req.url");
_Static_assert(offsetof(sx_webhook_req, topic) == 56, "sx_webhook_req.topic");
_Static_assert(offsetof(sx_webhook_ops, sig_scheme) == 8, "sx_webhook_ops.sig_scheme");
_Static_assert(offsetof(sx_webhook_ops, timestamp_tolerance_s) == 12, "sx_webhook_ops.timestamp_tolerance_s");
_Static_assert(offsetof(sx_webhook_ops, sig_header) == 16, "sx_webhook_ops.sig_header");
_Static_assert(offsetof(sx_webhook_ops, secret_key) == 24, "sx_webhook_ops.secret_key");
_Static_assert(offsetof(sx_webhook_ops, dedupe_header) == 32, "sx_webhook_ops.dedupe_header");
_Static_assert(offsetof(sx_webhook_ops, topic_header) == 40, "sx_webhook_ops.topic_header");
_Static_assert(offsetof(sx_webhook_ops, verify) == 48, "sx_webhook_ops.verify");
_Static_assert(offsetof(sx_webhook_ops, translate) == 56, "sx_webhook_ops.translate");
_Static_assert(offsetof(sx_webhook_ops, subscribe) == 64, "sx_webhook_ops.subscribe");
_Static_assert(offsetof(sx_webhook_ops, unsubscribe) == 72, "sx_webhook_ops.unsubscribe");
_Static_assert(offsetof(sx_connector, id) == 8, "sx_connector.id");
_Static_assert(offsetof(sx_connector, display_name) == 16, "sx_connector.display_name");
_Static_assert(offsetof(sx_connector, version) == 24, "sx_connector.version");
_Static_assert(offsetof(sx_connector, license) == 32, "sx_connector.license");
_Static_assert(offsetof(sx_connector, auth_kind) == 40, "sx_connector.auth_kind");
_Static_assert(offsetof(sx_connector, caps) == 44, "sx_connector.caps");
_Static_assert(offsetof(sx_connector, config) == 48, "sx_connector.config");
_Static_assert(offsetof(sx_connector, entities) == 56, "sx_connector.entities");
_Static_assert(offsetof(sx_connector, auth) == 64, "sx_connector.auth");
_Static_assert(offsetof(sx_connector, webhook) == 72, "sx_connector.webhook");
_Static_assert(offsetof(sx_connector, instance_new) == 80, "sx_connector.instance_new");
_Static_assert(offsetof(sx_connector, instance_free) == 88, "sx_connector.instance_free");
_Static_assert(offsetof(sx_connector, test_connection) == 96, "sx_connector.test_connection");

/* ---- ABI 1.1: sx_entity_ops.push_batch, sx_push_res.status/error ---- */
_Static_assert(sizeof(sx_push_res) == 72, "sx_push_res size (1.1)");
_Static_assert(offsetof(sx_push_res, status) == 48, "sx_push_res.status");
_Static_assert(offsetof(sx_push_res, error) == 56, "sx_push_res.error");
_Static_assert(SX_SIZE_THROUGH(sx_entity_ops, push_batch) == 48, "sx_entity_ops size (1.1)");
_Static_assert(offsetof(sx_entity_ops, max_batch) == 32, "sx_entity_ops.max_batch");
_Static_assert(offsetof(sx_entity_ops, push_batch) == 40, "sx_entity_ops.push_batch");

/* ---- ABI 1.2: sx_entity_ops.list_ids (the deletion sweep) ---- */
_Static_assert(sizeof(sx_entity_ops) == 56, "sx_entity_ops size (1.2)");
_Static_assert(offsetof(sx_entity_ops, list_ids) == 48, "sx_entity_ops.list_ids");
#endif

static void
test_version_macros(void)
{
    CHECK_EQ(1, SX_ABI_MAJOR);
    CHECK_EQ((1u << 16) | SX_ABI_MINOR, SX_ABI_VERSION);
    CHECK_EQ(SX_ABI_MAJOR, SX_ABI_VERSION_MAJOR(SX_ABI_VERSION));
    CHECK_EQ(SX_ABI_MINOR, SX_ABI_VERSION_MINOR(SX_ABI_VERSION));
}

/* Status codes and enum values are never renumbered (sdk/ABI.md rule 5). */
static void
test_codes_are_stable(void)
{
    CHECK_EQ(0, SX_OK);
    CHECK_EQ(-1, SX_E_INVALID);
    CHECK_EQ(-2, SX_E_NOMEM);
    CHECK_EQ(-3, SX_E_TRANSIENT);
    CHECK_EQ(-4, SX_E_RATE_LIMITED);
    CHECK_EQ(-5, SX_E_AUTH);
    CHECK_EQ(-6, SX_E_NOT_FOUND);
    CHECK_EQ(-7, SX_E_CONFLICT);
    CHECK_EQ(-8, SX_E_REJECTED);
    CHECK_EQ(-9, SX_E_PROTOCOL);
    CHECK_EQ(-10, SX_E_UNSUPPORTED);
    CHECK_EQ(-11, SX_E_LIMIT);
    CHECK_EQ(-12, SX_E_INTERNAL);
    CHECK_EQ(-13, SX_E_SIGNATURE);
    CHECK_EQ(-14, SX_E_STALE);
    CHECK_EQ(1, SX_ENTITY_CUSTOMER);
    CHECK_EQ(2, SX_ENTITY_PRODUCT);
    CHECK_EQ(3, SX_ENTITY_ORDER);
    CHECK_EQ(4, SX_ENTITY_PAYMENT);
    CHECK_EQ(1, SX_AUTH_OAUTH2_CODE);
    CHECK_EQ(4, SX_AUTH_BASIC);
    CHECK_EQ(1, SX_HTTP_GET);
    CHECK_EQ(5, SX_HTTP_DELETE);
    CHECK_EQ(1, SX_SIG_HMAC_SHA256_B64);
    CHECK_EQ(3, SX_SIG_HMAC_URL_BODY_B64);
    CHECK_STR_EQ("SX_E_AUTH", sx_status_name(SX_E_AUTH));
    CHECK_STR_EQ("order", sx_entity_name(SX_ENTITY_ORDER));
}

/* SX_HAS / SX_HOST_HAS answer from the size the other side declared. */
static void
test_size_macros(void)
{
    sx_host_api api;
    sx_entity_ops ops;

    memset(&api, 0, sizeof(api));
    api.hdr.struct_size = (uint32_t)SX_SIZE_THROUGH(sx_host_api, alloc);
    api.alloc = (void *(*)(sx_ctx *, size_t))1;
    api.http = (int (*)(sx_ctx *, const sx_http_req *, const sx_http_resp **))1;
    CHECK(SX_HOST_HAS(&api, alloc));
    CHECK(!SX_HOST_HAS(&api, http));        /* present in memory, but not in the declared size */
    api.hdr.struct_size = sizeof(api);
    CHECK(SX_HOST_HAS(&api, http));
    CHECK(!SX_HOST_HAS(&api, emit));        /* NULL means not supported */

    ops.hdr.struct_size = (uint32_t)SX_SIZE_THROUGH(sx_entity_ops, list);
    CHECK(SX_HAS(&ops, sx_entity_ops, list));
    CHECK(!SX_HAS(&ops, sx_entity_ops, push));
}

static void
test_money_parse(void)
{
    int64_t v = 0;

    CHECK_EQ(SX_OK, sx_money_parse(SX_STR("19.99"), 2, 0, &v));
    CHECK_EQ(1999, v);
    CHECK_EQ(SX_OK, sx_money_parse(SX_STR("19.990000"), 2, 0, &v));
    CHECK_EQ(1999, v);
    CHECK_EQ(SX_OK, sx_money_parse(SX_STR("-0.5"), 2, 0, &v));
    CHECK_EQ(-50, v);
    CHECK_EQ(SX_OK, sx_money_parse(SX_STR("12"), 0, 0, &v));
    CHECK_EQ(12, v);
    CHECK_EQ(SX_E_INVALID, sx_money_parse(SX_STR("1.005"), 2, 0, &v));
    CHECK_EQ(SX_OK, sx_money_parse(SX_STR("1.005"), 2, 1, &v));
    CHECK_EQ(101, v);
    CHECK_EQ(SX_E_INVALID, sx_money_parse(SX_STR("1e5"), 2, 0, &v));
    CHECK_EQ(SX_E_INVALID, sx_money_parse(SX_STR(""), 2, 0, &v));
    CHECK_EQ(SX_E_INVALID, sx_money_parse(SX_STR("."), 2, 0, &v));
    CHECK_EQ(SX_E_INVALID, sx_money_parse(SX_STR("99999999999999999999"), 2, 0, &v));
    {
        char q[16];

        CHECK_EQ(3, sx_json_quote(SX_STR("a"), q, 4));          /* exactly enough room */
        CHECK_STR_EQ("\"a\"", q);
        CHECK_EQ(0, sx_json_quote(SX_STR("a"), q, 3));
        CHECK_EQ(6, sx_json_quote(SX_STR("\xc3\xa9\""), q, sizeof(q)));   /* "é\"" */
        CHECK_EQ(0, sx_json_quote(SX_STR("\xff"), q, sizeof(q)));        /* not UTF-8 */
        CHECK_EQ(0, sx_json_quote(SX_STR("\xed\xa0\x80"), q, sizeof(q))); /* surrogate */
        CHECK_EQ(8, sx_json_quote(SX_STR("\x01"), q, sizeof(q)));
        CHECK_STR_EQ("\"\\u0001\"", q);
    }
    CHECK_EQ(0, sx_currency_exponent(SX_STR("JPY")));
    CHECK_EQ(3, sx_currency_exponent(SX_STR("KWD")));
    CHECK_EQ(2, sx_currency_exponent(SX_STR("EUR")));
}

int
main(void)
{
#if !defined(__LP64__)
    check_skip("layout pins are for LP64 targets");
#endif
    RUN_TEST(test_version_macros);
    RUN_TEST(test_codes_are_stable);
    RUN_TEST(test_size_macros);
    RUN_TEST(test_money_parse);
    return check_report();
}
